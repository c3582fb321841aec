using System.Text;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class JsonBodyTests
{
    private static JsonBody<T> Parse<T>(string json) where T : class, new() => JsonBody<T>.Parse(Encoding.UTF8.GetBytes(json));

    private static string Error<T>(string json) where T : class, new()
    {
        var body = Parse<T>(json);
        Assert.Null(body.Value);
        Assert.Equal(400, body.Error!.StatusCode);
        Assert.Equal("invalid_request_error", body.Error.Type);
        return body.Error.Message;
    }

    [Fact]
    public void Reads_the_seed_token_request()
    {
        var request = Parse<CreateTokenRequest>("""{"ttl":"1h","agent_name":"my-agent"}""").Value!;
        Assert.Equal("1h", request.Ttl);
        Assert.Equal("my-agent", request.AgentName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n")]
    public void An_empty_body_is_an_empty_request(string json) =>
        Assert.Null(Parse<CreateTokenRequest>(json).Value!.Ttl);

    [Fact]
    public void Unknown_fields_are_rejected_naming_the_field_and_the_known_ones()
    {
        Assert.Equal("Unknown field 'tll'. Known fields: ttl, agent_name, models, routes, limits.", Error<CreateTokenRequest>("""{"tll":"1h"}"""));
        Assert.StartsWith("Unknown field 'limits.rpm'. Known fields of 'limits': requests_per_minute,", Error<CreateTokenRequest>("""{"limits":{"rpm":1}}"""), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"ttl":3600}""", "'ttl' must be a string.")]
    [InlineData("""{"models":"claude-*"}""", "'models' must be a list of strings.")]
    [InlineData("""{"models":["a",1]}""", "'models[1]' must be a string.")]
    [InlineData("""{"limits":{"requests_per_minute":1.5}}""", "'limits.requests_per_minute' must be an integer")]
    [InlineData("""{"limits":{"requests_per_minute":"10"}}""", "'limits.requests_per_minute' must be an integer")]
    [InlineData("""{"limits":{"requests_per_minute":99999999999}}""", "'limits.requests_per_minute' must be an integer")]
    [InlineData("""{"limits":[]}""", "'limits' must be an object.")]
    [InlineData("""{"ttl":"1h","ttl":"2h"}""", "Duplicate field 'ttl'.")]
    public void Values_of_the_wrong_type_are_rejected_naming_the_field(string json, string message) =>
        Assert.StartsWith(message, Error<CreateTokenRequest>(json), StringComparison.Ordinal);

    [Theory]
    [InlineData("""{"ttl":"1h",""", "Request body is not valid JSON")]
    [InlineData("""[1,2]""", "Request body must be a JSON object.")]
    [InlineData("""ttl=1h""", "Request body is not valid JSON")]
    public void Malformed_json_is_rejected(string json, string message) =>
        Assert.StartsWith(message, Error<CreateTokenRequest>(json), StringComparison.Ordinal);

    [Fact]
    public void Enums_times_and_nested_required_fields_are_checked()
    {
        Assert.Equal("'kind' must be one of \"api_key\", \"agent_token\", \"device_token\", \"admin_key\", \"user\".", Error<CreateCredentialRequest>("""{"kind":"root"}"""));
        Assert.StartsWith("'expires_at' must be an RFC 3339 time with an offset", Error<CreateCredentialRequest>("""{"expires_at":"2030-01-01T00:00:00"}"""), StringComparison.Ordinal);
        Assert.Equal("Missing field 'owner.id'.", Error<CreateCredentialRequest>("""{"owner":{"type":"user"}}"""));

        var request = Parse<CreateCredentialRequest>("""{"kind":"admin_key","expires_at":"2030-01-01T00:00:00+02:00","owner":{"type":"user","id":"u1"}}""").Value!;
        Assert.Equal(CredentialKind.AdminKey, request.Kind);
        Assert.Equal(new DateTimeOffset(2029, 12, 31, 22, 0, 0, TimeSpan.Zero), request.ExpiresAt);
    }

    [Fact]
    public void A_patch_tells_an_explicit_null_from_an_absent_field()
    {
        var clear = Parse<UpdateCredentialRequest>("""{"expires_at":null}""").Value!;
        Assert.True(clear.ExpiresAtSpecified);
        Assert.Null(clear.ExpiresAt);
        Assert.False(clear.NameSpecified);

        var untouched = Parse<UpdateCredentialRequest>("""{"name":"x"}""").Value!;
        Assert.False(untouched.ExpiresAtSpecified);
        Assert.True(untouched.NameSpecified);
    }

    [Fact]
    public void Computed_properties_are_not_accepted_as_fields() =>
        Assert.StartsWith("Unknown field 'expires_at_specified'.", Error<UpdateCredentialRequest>("""{"expires_at_specified":true}"""), StringComparison.Ordinal);
}
