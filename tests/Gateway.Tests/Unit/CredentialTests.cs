using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Credentials;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Unit;

public class CredentialTests
{
    [Fact]
    public void The_checksum_is_zlibs_crc32_so_every_key_ever_issued_stays_valid()
    {
        // Computed independently: Python's zlib.crc32 of the first 51 characters, in base62, six digits.
        const string Known = "lgw_key_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg1T7Nun";
        Assert.True(CredentialFormat.TryParse(Known, out var kind));
        Assert.Equal(CredentialKind.ApiKey, kind);
        Assert.False(CredentialFormat.TryParse(Known[..^1] + "m", out _));
    }

    [Fact]
    public void Hash_hex_is_the_contract_hash()
    {
        var secret = CredentialFormat.Generate(CredentialKind.ApiKey);
        var hash = CredentialHash.Compute(secret);
        Assert.Equal(CredentialFormat.Hash(secret), hash.ToHex());
        Assert.True(CredentialHash.TryParseHex(hash.ToHex(), out var parsed));
        Assert.Equal(hash, parsed);
        Assert.NotEqual(hash, CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey)));
        Assert.False(CredentialHash.TryParseHex("xyz", out _));
        Assert.False(CredentialHash.TryParseHex(new string('g', 64), out _));
    }

    [Fact]
    public void Credential_is_taken_from_x_api_key_or_bearer()
    {
        var secret = CredentialFormat.Generate(CredentialKind.AgentToken);

        var apiKey = new HeaderDictionary { ["x-api-key"] = secret };
        Assert.Equal(CredentialPresence.WellFormed, CredentialHeaders.Read(apiKey, out var fromKey, out var kind));
        Assert.Equal(secret, fromKey.ToString());
        Assert.Equal(CredentialKind.AgentToken, kind);

        var bearer = new HeaderDictionary { ["Authorization"] = "Bearer " + secret };
        Assert.Equal(CredentialPresence.WellFormed, CredentialHeaders.Read(bearer, out var fromBearer, out _));
        Assert.Equal(secret, fromBearer.ToString());

        // apiKeyHelper sends both, with the same value.
        var both = new HeaderDictionary { ["x-api-key"] = secret, ["Authorization"] = "bearer " + secret };
        Assert.Equal(CredentialPresence.WellFormed, CredentialHeaders.Read(both, out var fromBoth, out _));
        Assert.Equal(secret, fromBoth.ToString());

        // Two different values are refused, whichever looks well-formed: the gateway does not guess who is calling.
        var different = new HeaderDictionary { ["x-api-key"] = "sk-ant-something", ["Authorization"] = "bearer " + secret };
        Assert.Equal(CredentialPresence.Conflicting, CredentialHeaders.Read(different, out _, out _));
    }

    [Fact]
    public void Missing_and_malformed_credentials_are_told_apart_without_io()
    {
        Assert.Equal(CredentialPresence.Missing, CredentialHeaders.Read(new HeaderDictionary(), out _, out _));
        var secret = CredentialFormat.Generate(CredentialKind.ApiKey);
        var tampered = secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a');
        Assert.Equal(CredentialPresence.Malformed, CredentialHeaders.Read(new HeaderDictionary { ["x-api-key"] = tampered }, out _, out _));
        Assert.Equal(CredentialPresence.Malformed, CredentialHeaders.Read(new HeaderDictionary { ["Authorization"] = "Basic " + secret }, out _, out _));
        Assert.Equal(CredentialPresence.Malformed, CredentialHeaders.Read(new HeaderDictionary { ["x-api-key"] = new[] { secret, secret } }, out _, out _));
    }

    [Fact]
    public void An_external_key_is_well_formed_only_when_it_matches_a_configured_pattern()
    {
        var key = "sk_live_" + new string('A', 30);
        var headers = new HeaderDictionary { ["Authorization"] = "Bearer " + key };
        Assert.Equal(CredentialPresence.Malformed, CredentialHeaders.Read(headers, out _, out _));

        var patterns = new[] { new ExternalKeyPattern { Prefix = "sk_live_" } };
        Assert.Equal(CredentialPresence.WellFormed, CredentialHeaders.Read(headers, patterns, out var credential, out _));
        Assert.Equal(key, credential.ToString());
        Assert.Equal(CredentialFormat.Hash(key), CredentialHash.Compute(credential).ToHex());

        var tooShort = new HeaderDictionary { ["x-api-key"] = "sk_live_short" };
        Assert.Equal(CredentialPresence.Malformed, CredentialHeaders.Read(tooShort, patterns, out _, out _));
    }

    [Theory]
    [InlineData("0", CredentialKind.ApiKey)]
    [InlineData("\"ApiKey\"", CredentialKind.ApiKey)]
    [InlineData("\"agent_token\"", CredentialKind.AgentToken)]
    [InlineData("\"deviceToken\"", CredentialKind.DeviceToken)]
    [InlineData("\"admin-key\"", CredentialKind.AdminKey)]
    public void Projection_kind_is_read_in_any_spelling(string kindJson, CredentialKind expected)
    {
        var json = $$"""{"id":"c1","kind":{{kindJson}},"hint":"lgw_key_…abcd","owner":{"type":"user","id":"u1"},"models":["claude-*"]}""";
        var projection = CredentialProjectionJson.Read(System.Text.Encoding.UTF8.GetBytes(json))!;
        Assert.Equal(expected, projection.Kind);
        Assert.Equal(["claude-*"], projection.Models);
        Assert.Equal(["*"], projection.Routes);
    }

    [Fact]
    public void Projection_with_an_unknown_kind_is_unreadable()
    {
        const string json = """{"id":"c1","kind":"root","hint":"x","owner":{"type":"user","id":"u1"}}""";
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, CredentialProjectionJson.TypeInfo));
    }
}
