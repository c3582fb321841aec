using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Testing;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Identity;

/// <summary>
/// The gateway in-process with two configured issuers served by the test: <c>test</c> (OpenID metadata, every role) and
/// <c>accounts</c> (a bare JWKS URL, a different iss, member only, subjects used as user ids).
/// </summary>
public sealed class JwtGatewayFixture : GatewayFixture
{
    public const string AccountsIssuer = "https://accounts.test";

    public TestJwtIssuer Issuer { get; private set; } = null!;

    protected override async Task PrepareAsync() => Issuer = await TestJwtIssuer.StartAsync();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Identity:Issuers:test:MetadataAddress"] = Issuer.MetadataAddress,
        ["Identity:Issuers:test:Issuer"] = Issuer.Issuer,
        ["Identity:Issuers:test:Audience"] = "llm-gateway",
        ["Identity:Issuers:test:RequireHttpsMetadata"] = "false",
        ["Identity:Issuers:test:RefreshInterval"] = "00:00:01",
        ["Identity:Issuers:accounts:JwksUrl"] = Issuer.JwksUrl,
        ["Identity:Issuers:accounts:Issuer"] = AccountsIssuer,
        ["Identity:Issuers:accounts:Audience"] = "llm-gateway",
        ["Identity:Issuers:accounts:RequireHttpsMetadata"] = "false",
        ["Identity:Issuers:accounts:UseSubjectAsUserId"] = "true",
        ["Identity:Issuers:accounts:AllowedRoles:0"] = "member",
        ["Identity:UserLimits:RequestsPerMinute"] = "3",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Issuer.DisposeAsync();
    }
}

public sealed class JwtCallerTests(JwtGatewayFixture fixture) : IClassFixture<JwtGatewayFixture>
{
    private const string MessageJson =
        """{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":7,"output_tokens":3}}""";

    private const string Body = """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}""";

    private TestJwtIssuer Issuer => fixture.Issuer;

    private void AnswerWithMessage() => fixture.Upstream.Handler = async context =>
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(MessageJson);
    };

    private static string Person() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<HttpResponseMessage> SendAsync(string token, string path = "/v1/messages", bool bearer = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        if (bearer)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("x-api-key", token);
        }

        return await fixture.Client.SendAsync(request);
    }

    private static async Task<(string Type, string Message)> AnthropicErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        Assert.Equal("error", document.RootElement.GetProperty("type").GetString());
        var error = document.RootElement.GetProperty("error");
        return (error.GetProperty("type").GetString()!, error.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task A_member_calls_messages_with_the_official_sdk_and_is_metered_as_the_user()
    {
        AnswerWithMessage();
        var person = Person();
        var client = new AnthropicClient
        {
            AuthToken = Issuer.CreateToken(person, "member", organization: "org_acme", email: person + "@acme.test"),
            BaseUrl = fixture.Gateway.BaseAddress.ToString().TrimEnd('/'),
            MaxRetries = 0,
        };

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 16,
            Messages = [new UserMessageParam { Content = "Hi" }],
        });

        Assert.Equal("msg_1", message.ID);
        var userId = $"oidc:test:{person}";
        var usage = Assert.Single(await UsageStream.WaitForCountAsync(fixture.RedisClient, userId, 1));
        Assert.Equal("user", usage["credential_kind"]);
        Assert.Equal("user", usage["owner_type"]);
        Assert.Equal(userId, usage["owner_id"]);
        Assert.Equal("org_acme", usage["org_id"]);
        Assert.Equal("7", usage["input_tokens"]);
    }

    [Fact]
    public async Task A_local_account_token_from_a_jwks_only_issuer_uses_its_subject_as_the_user_id_and_may_come_as_x_api_key()
    {
        AnswerWithMessage();
        var userId = "usr_" + Guid.NewGuid().ToString("N")[..12];
        using var response = await SendAsync(Issuer.CreateToken(userId, "member", issuer: JwtGatewayFixture.AccountsIssuer), bearer: false);

        Assert.True(HttpStatusCode.OK == response.StatusCode, await response.Content.ReadAsStringAsync());
        var usage = Assert.Single(await UsageStream.WaitForCountAsync(fixture.RedisClient, userId, 1));
        Assert.Equal(userId, usage["owner_id"]);
    }

    [Fact]
    public async Task Requests_per_minute_are_limited_per_person_across_their_tokens()
    {
        AnswerWithMessage();
        for (var attempt = 0; ; attempt++)
        {
            var person = Person();
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 4; i++)
            {
                // A new token each time: the limit belongs to the person, not to one token.
                using var response = await SendAsync(Issuer.CreateToken(person, "member"));
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var (type, _) = await AnthropicErrorAsync(response, HttpStatusCode.TooManyRequests);
                    Assert.Equal("rate_limit_error", type);
                }
            }

            if (statuses.Take(3).All(s => s == HttpStatusCode.OK) && statuses[3] == HttpStatusCode.TooManyRequests)
            {
                return;
            }

            // Only a minute boundary falling between the requests may let the fourth through; never twice running.
            Assert.True(attempt == 0 && statuses.All(s => s is HttpStatusCode.OK or HttpStatusCode.TooManyRequests), string.Join(",", statuses));
        }
    }

    [Fact]
    public async Task A_viewer_is_refused_the_model_api_in_each_apis_error_format()
    {
        var token = Issuer.CreateToken(Person(), "viewer");

        using var messages = await SendAsync(token);
        var (type, message) = await AnthropicErrorAsync(messages, HttpStatusCode.Forbidden);
        Assert.Equal("permission_error", type);
        Assert.Contains("viewer", message, StringComparison.Ordinal);

        using var chat = await SendAsync(token, "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.Forbidden, chat.StatusCode);
        using var openAi = JsonDocument.Parse(await chat.Content.ReadAsStringAsync());
        Assert.Equal("permission_error", openAi.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("viewer", openAi.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_admin_role_passes_the_gateways_admin_routes()
    {
        async Task<HttpResponseMessage> BreakersAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/circuit-breaker");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await fixture.Client.SendAsync(request);
        }

        using var admin = await BreakersAsync(Issuer.CreateToken(Person(), "admin"));
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        using (var document = JsonDocument.Parse(await admin.Content.ReadAsStringAsync()))
        {
            Assert.Equal(JsonValueKind.Array, document.RootElement.GetProperty("breakers").ValueKind);
        }

        using var reset = new HttpRequestMessage(HttpMethod.Post, "/admin/circuit-breaker/reset");
        reset.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Issuer.CreateToken(Person(), "admin"));
        using var resetResponse = await fixture.Client.SendAsync(reset);
        Assert.Equal(HttpStatusCode.OK, resetResponse.StatusCode);

        using var member = await BreakersAsync(Issuer.CreateToken(Person(), "member"));
        var (type, _) = await AnthropicErrorAsync(member, HttpStatusCode.Forbidden);
        Assert.Equal("permission_error", type);
    }

    [Fact]
    public async Task A_rotated_signing_key_is_picked_up_without_a_restart_and_the_withdrawn_one_is_refused()
    {
        AnswerWithMessage();
        var old = Issuer.Current;
        using (var before = await SendAsync(Issuer.CreateToken(Person(), "member")))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Issuer.Rotate();

        // The first token signed with the new key is accepted: its unknown kid makes the gateway re-read the JWKS.
        using (var after = await SendAsync(Issuer.CreateToken(Person(), "member")))
        {
            Assert.True(HttpStatusCode.OK == after.StatusCode, await after.Content.ReadAsStringAsync());
        }

        // The other issuer reading the same JWKS (and never asked since) picks it up the same way.
        using (var accounts = await SendAsync(Issuer.CreateToken("usr_" + Person(), "member", issuer: JwtGatewayFixture.AccountsIssuer)))
        {
            Assert.True(HttpStatusCode.OK == accounts.StatusCode, await accounts.Content.ReadAsStringAsync());
        }

        using var withdrawn = await SendAsync(Issuer.CreateToken(Person(), "member", key: old));
        var (type, message) = await AnthropicErrorAsync(withdrawn, HttpStatusCode.Unauthorized);
        Assert.Equal("authentication_error", type);
        Assert.Contains("key", message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "expired", "expired" },
        { "audience", "audience" },
        { "issuer", "issuer" },
        { "alg-none", "alg: none" },
        { "signature", "signature" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_token_refused_for_a_known_reason_says_why(string kind, string reason)
    {
        var person = Person();
        var token = kind switch
        {
            "expired" => Issuer.CreateToken(person, expires: DateTimeOffset.UtcNow.AddMinutes(-5)),
            "audience" => Issuer.CreateToken(person, audience: "another-service"),
            "issuer" => Issuer.CreateToken(person, issuer: "https://evil.example"),
            "alg-none" => Issuer.CreateUnsignedToken(person),
            // Signed by a key nobody publishes, claiming the published kid.
            "signature" => Issuer.CreateToken(person, key: ForgedKey()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await SendAsync(token);
        var (type, message) = await AnthropicErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("authentication_error", type);
        Assert.Contains(reason, message, StringComparison.Ordinal);

        // The same reason in OpenAI's shape on chat completions.
        using var chat = await SendAsync(token, "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
        using var openAi = JsonDocument.Parse(await chat.Content.ReadAsStringAsync());
        Assert.Contains(reason, openAi.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private TestJwtIssuer.SigningKey ForgedKey() => TestJwtIssuer.SigningKey.Create(Issuer.Current.Kid);

    [Fact]
    public async Task A_role_the_issuer_does_not_allow_is_refused()
    {
        using var unknown = await SendAsync(Issuer.CreateToken(Person(), "superuser"));
        var (type, message) = await AnthropicErrorAsync(unknown, HttpStatusCode.Forbidden);
        Assert.Equal("permission_error", type);
        Assert.Contains("superuser", message, StringComparison.Ordinal);

        // The accounts issuer admits members only.
        using var admin = await SendAsync(Issuer.CreateToken("usr_admin", "admin", issuer: JwtGatewayFixture.AccountsIssuer));
        (type, message) = await AnthropicErrorAsync(admin, HttpStatusCode.Forbidden);
        Assert.Contains("'admin' is not allowed", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln")]
    [InlineData("eyJub3RhbGciOjF9.e30.c2ln")]
    [InlineData("a.b.c")]
    public async Task A_malformed_token_stays_a_plain_invalid(string token)
    {
        using var response = await SendAsync(token);
        var (type, message) = await AnthropicErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("authentication_error", type);
        Assert.Equal("invalid x-api-key", message);
    }
}
