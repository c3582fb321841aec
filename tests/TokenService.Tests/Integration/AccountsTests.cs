using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace LlmGateway.TokenService.Tests.Integration;

/// <summary>Local accounts (seed 003): registration, sign-in, lockout, sign-in JWTs, self-service keys, and their audit trail.</summary>
[Collection(TokenServiceCollection.Name)]
public sealed class AccountsTests(TokenServiceApp service)
{
    private static string NewEmail(string who) => $"{who}-{Guid.NewGuid():N}@example.com";

    private static string NewPassword() => "pw-" + Guid.NewGuid().ToString("N");

    private async Task<ApiResponse> RegisterAsync(string email, string password, string? inviteCode = null, HttpClient? via = null, string? clientAddress = null)
    {
        service.Secrets.Add(password);
        var body = JsonSerializer.Serialize(new Dictionary<string, string?> { ["email"] = email, ["password"] = password, ["name"] = "Test User", ["invite_code"] = inviteCode }
            .Where(p => p.Value is not null).ToDictionary());
        return await service.SendAsync(HttpMethod.Post, "/api/auth/register", body, via: via, clientAddress: clientAddress);
    }

    private Task<ApiResponse> LoginAsync(string email, string password, string? clientAddress = null) =>
        service.SendAsync(HttpMethod.Post, "/api/auth/login", JsonSerializer.Serialize(new { email, password }), clientAddress: clientAddress);

    private async Task<(string UserId, string Token)> SignedInAsync(string who = "user")
    {
        var email = NewEmail(who);
        var password = NewPassword();
        (await RegisterAsync(email, password)).AssertStatus(HttpStatusCode.Created);
        var login = await LoginAsync(email, password);
        login.AssertStatus(HttpStatusCode.OK);
        return (login.Body.GetProperty("user").GetProperty("id").GetString()!, login.Body.GetProperty("token").GetString()!);
    }

    private Task<ApiResponse> AsUser(string token, HttpMethod method, string path, string? json = null, string? clientAddress = null) =>
        service.SendAsync(method, path, json, token, bearer: true, clientAddress: clientAddress);

    private async Task<List<JsonElement>> AuditAsync(string query)
    {
        var response = await service.AdminAsync(HttpMethod.Get, "/admin/audit?" + query);
        response.AssertStatus(HttpStatusCode.OK);
        return response.Body.GetProperty("data").EnumerateArray().ToList();
    }

    [Fact]
    public async Task A_registered_user_signs_in_generates_a_key_shown_once_lists_it_and_deleting_it_revokes_it()
    {
        var email = NewEmail("Seed.003");
        var password = NewPassword();
        var registered = await RegisterAsync(email, password, clientAddress: "203.0.113.10");
        registered.AssertStatus(HttpStatusCode.Created);
        var user = registered.Body.GetProperty("user");
        var userId = user.GetProperty("id").GetString()!;
        Assert.StartsWith("usr_", userId, StringComparison.Ordinal);
        Assert.Equal(email.ToLowerInvariant(), user.GetProperty("email").GetString());

        var login = await LoginAsync(email.ToUpperInvariant(), password, clientAddress: "203.0.113.11");
        login.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("Bearer", login.Body.GetProperty("token_type").GetString());
        var expiresAt = login.Body.GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow.AddDays(7).AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(7).AddMinutes(1));
        Assert.Equal(userId, login.Body.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal("local", login.Body.GetProperty("user").GetProperty("organization_id").GetString());
        var token = login.Body.GetProperty("token").GetString()!;

        var generated = await AsUser(token, HttpMethod.Post, "/api/keys/generate", """{"name":"laptop","models":["claude-*"],"expires_in":"720h"}""", "203.0.113.12");
        generated.AssertStatus(HttpStatusCode.Created);
        var keyId = generated.Body.GetProperty("id").GetString()!;
        var secret = generated.Body.GetProperty("secret").GetString()!;
        service.Secrets.Add(secret);
        Assert.StartsWith("lgw_", secret, StringComparison.Ordinal);
        Assert.Equal("user", generated.Body.GetProperty("owner").GetProperty("type").GetString());
        Assert.Equal(userId, generated.Body.GetProperty("owner").GetProperty("id").GetString());

        // The key is an ordinary credential: projected for the gateways, with the account as the root of its lineage.
        var projection = await service.ProjectionAsync(secret);
        Assert.NotNull(projection);
        Assert.Equal(CredentialKind.ApiKey, projection.Kind);
        Assert.Equal(userId, projection.Ancestors![^1].Id);
        (await service.IntrospectAsync(secret)).AssertStatus(HttpStatusCode.OK);

        var list = await AsUser(token, HttpMethod.Get, "/api/keys/list");
        list.AssertStatus(HttpStatusCode.OK);
        var listed = Assert.Single(list.Body.GetProperty("data").EnumerateArray());
        Assert.Equal(keyId, listed.GetProperty("id").GetString());
        Assert.False(listed.TryGetProperty("secret", out _));
        Assert.DoesNotContain(secret, list.Text, StringComparison.Ordinal);

        // Someone else cannot see or delete it, and cannot tell it exists.
        var (_, otherToken) = await SignedInAsync("other");
        Assert.Empty((await AsUser(otherToken, HttpMethod.Get, "/api/keys/list")).Body.GetProperty("data").EnumerateArray());
        (await AsUser(otherToken, HttpMethod.Delete, $"/api/keys/{keyId}")).AssertError(HttpStatusCode.NotFound, "not_found_error");
        (await service.IntrospectAsync(secret)).AssertStatus(HttpStatusCode.OK);

        var deleted = await AsUser(token, HttpMethod.Delete, $"/api/keys/{keyId}", clientAddress: "203.0.113.13");
        deleted.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("revoked", deleted.Body.GetProperty("credential").GetProperty("status").GetString());
        Assert.Null(await service.ProjectionAsync(secret));
        (await service.IntrospectAsync(secret)).AssertStatus(HttpStatusCode.NotFound);
        Assert.Empty((await AsUser(token, HttpMethod.Get, "/api/keys/list")).Body.GetProperty("data").EnumerateArray());

        // Each step is in the audit log with the account as actor and the client's address.
        var byUser = await AuditAsync($"actor_id={userId}");
        Assert.Contains(byUser, e => e.GetProperty("action").GetString() == "account.register" && e.GetProperty("source_address").GetString() == "203.0.113.10");
        Assert.Contains(byUser, e => e.GetProperty("action").GetString() == "account.sign_in" && e.GetProperty("source_address").GetString() == "203.0.113.11");
        Assert.Contains(byUser, e => e.GetProperty("action").GetString() == "credential.create" && e.GetProperty("target").GetString() == keyId
            && e.GetProperty("source_address").GetString() == "203.0.113.12");
        Assert.Contains(byUser, e => e.GetProperty("action").GetString() == "credential.revoke" && e.GetProperty("target").GetString() == keyId
            && e.GetProperty("source_address").GetString() == "203.0.113.13");
    }

    [Fact]
    public async Task Key_routes_need_a_sign_in_token_not_an_api_key()
    {
        (await service.SendAsync(HttpMethod.Get, "/api/keys/list")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
        var (_, apiKey) = await service.CreateApiKeyAsync();
        Assert.Contains("sign-in token", (await service.SendAsync(HttpMethod.Get, "/api/keys/list", credential: apiKey, bearer: true))
            .AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);

        // A token signed by anyone else's key is refused.
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "llmgateway",
            Audience = "llmgateway",
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = "usr_forged" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "key_forged" }, SecurityAlgorithms.RsaSha256),
        });
        (await AsUser(forged, HttpMethod.Get, "/api/keys/list")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account_with_423_even_for_the_right_password()
    {
        var email = NewEmail("lockout");
        var password = NewPassword();
        var wrong = NewPassword();
        service.Secrets.Add(wrong);
        (await RegisterAsync(email, password)).AssertStatus(HttpStatusCode.Created);

        for (var i = 1; i < TokenServiceApp.MaxFailedSignIns; i++)
        {
            Assert.Equal("The email or password is incorrect.", (await LoginAsync(email, wrong)).AssertError(HttpStatusCode.Unauthorized, "authentication_error"));
        }

        var locking = await LoginAsync(email, wrong);
        Assert.Contains("locked until", locking.AssertError(HttpStatusCode.Locked, "permission_error"), StringComparison.Ordinal);
        Assert.InRange(locking.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15).Add(TimeSpan.FromSeconds(2)));
        (await LoginAsync(email, password)).AssertError(HttpStatusCode.Locked, "permission_error");

        // An unknown email gets the same answer as a wrong password.
        Assert.Equal("The email or password is incorrect.",
            (await LoginAsync(NewEmail("nobody"), wrong)).AssertError(HttpStatusCode.Unauthorized, "authentication_error"));

        var failures = (await AuditAsync("action=account.sign_in_failed&limit=1000"))
            .Where(e => e.GetProperty("details").GetProperty("email").GetString() == email).ToList();
        Assert.Equal(TokenServiceApp.MaxFailedSignIns + 1, failures.Count);
        Assert.Equal(TokenServiceApp.MaxFailedSignIns, failures.Count(e => e.GetProperty("details").GetProperty("reason").GetString() == "wrong_password"));
        Assert.Contains(failures, e => e.GetProperty("details").GetProperty("reason").GetString() == "locked");
        Assert.Contains(failures, e => e.GetProperty("details").TryGetProperty("locked_until", out _));
    }

    [Fact]
    public async Task The_first_account_is_the_admin_and_later_ones_are_members()
    {
        await SignedInAsync("first-or-later");
        await SignedInAsync("later");
        var users = (await service.AdminAsync(HttpMethod.Get, "/admin/users?limit=1000")).Body.GetProperty("data").EnumerateArray().ToList();

        // Ids are time-ordered: whichever test registered first, the oldest account is the only admin.
        Assert.Equal("admin", users[0].GetProperty("role").GetString());
        Assert.All(users.Skip(1).Where(u => !u.GetProperty("email").GetString()!.StartsWith("boss-", StringComparison.Ordinal)),
            u => Assert.NotEqual("admin", u.GetProperty("role").GetString()));
    }

    [Fact]
    public async Task Closed_registration_refuses_everyone_but_the_configured_admin_email()
    {
        var boss = NewEmail("boss");
        await using var replica = await InProcessReplica.StartAsync(service, new Dictionary<string, string?>
        {
            ["Accounts:Registration"] = "closed",
            ["Accounts:AdminEmail"] = boss,
        });
        await replica.Services.GetRequiredService<LlmGateway.TokenService.Infrastructure.DatabaseReadiness>().WaitAsync(CancellationToken.None);

        Assert.Contains("closed", (await RegisterAsync(NewEmail("stranger"), NewPassword(), via: replica.Http))
            .AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
        var registered = await RegisterAsync(boss, NewPassword(), via: replica.Http);
        registered.AssertStatus(HttpStatusCode.Created);
        Assert.Equal("admin", registered.Body.GetProperty("user").GetProperty("role").GetString());
    }

    [Fact]
    public async Task Invite_only_registration_needs_a_valid_unused_invite_for_that_email()
    {
        await using var replica = await InProcessReplica.StartAsync(service, new Dictionary<string, string?> { ["Accounts:Registration"] = "invite" });
        await replica.Services.GetRequiredService<LlmGateway.TokenService.Infrastructure.DatabaseReadiness>().WaitAsync(CancellationToken.None);
        await SignedInAsync("ensure-not-first");
        var invited = NewEmail("invited");

        Assert.Contains("invitation", (await RegisterAsync(invited, NewPassword(), via: replica.Http))
            .AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
        (await RegisterAsync(invited, NewPassword(), inviteCode: "inv_0000", via: replica.Http)).AssertError(HttpStatusCode.Forbidden, "permission_error");

        var invite = await service.AdminAsync(HttpMethod.Post, "/admin/invites", JsonSerializer.Serialize(new { email = invited, role = "viewer" }));
        invite.AssertStatus(HttpStatusCode.Created);
        var code = invite.Body.GetProperty("code").GetString()!;
        (await RegisterAsync(NewEmail("someone-else"), NewPassword(), inviteCode: code, via: replica.Http)).AssertError(HttpStatusCode.Forbidden, "permission_error");

        var registered = await RegisterAsync(invited, NewPassword(), inviteCode: code, via: replica.Http);
        registered.AssertStatus(HttpStatusCode.Created);
        Assert.Equal("viewer", registered.Body.GetProperty("user").GetProperty("role").GetString());
        (await RegisterAsync(NewEmail("reuse"), NewPassword(), inviteCode: code, via: replica.Http)).AssertError(HttpStatusCode.Forbidden, "permission_error");

        // A viewer reads but does not create keys.
        var viewerToken = registered.Body.GetProperty("token").GetString()!;
        (await AsUser(viewerToken, HttpMethod.Post, "/api/keys/generate", "{}")).AssertError(HttpStatusCode.Forbidden, "permission_error");
        (await AsUser(viewerToken, HttpMethod.Get, "/api/keys/list")).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task One_address_trying_many_sign_ins_is_rate_limited()
    {
        await using var replica = await InProcessReplica.StartAsync(service, new Dictionary<string, string?> { ["Accounts:SignInsPerMinutePerAddress"] = "2" });
        await replica.Services.GetRequiredService<LlmGateway.TokenService.Infrastructure.DatabaseReadiness>().WaitAsync(CancellationToken.None);
        var body = JsonSerializer.Serialize(new { email = NewEmail("guess"), password = "guessing-a-password" });
        for (var i = 0; i < 2; i++)
        {
            (await service.SendAsync(HttpMethod.Post, "/api/auth/login", body, clientAddress: "192.0.2.200", via: replica.Http)).AssertStatus(HttpStatusCode.Unauthorized);
        }

        var limited = await service.SendAsync(HttpMethod.Post, "/api/auth/login", body, clientAddress: "192.0.2.200", via: replica.Http);
        Assert.Contains("sign-in", limited.AssertError(HttpStatusCode.TooManyRequests, "rate_limit_error"), StringComparison.Ordinal);
        (await service.SendAsync(HttpMethod.Post, "/api/auth/login", body, clientAddress: "192.0.2.201", via: replica.Http)).AssertStatus(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("""{"email":"not-an-email","password":"long enough password"}""", "not an email address")]
    [InlineData("""{"email":"a@example.com","password":"short"}""", "at least 12 characters")]
    [InlineData("""{"password":"long enough password"}""", "email is required")]
    [InlineData("""{"email":"a@example.com","password":"long enough password","role":"admin"}""", "role")]
    public async Task Invalid_registrations_get_a_400_naming_the_problem(string body, string message)
    {
        var response = await service.SendAsync(HttpMethod.Post, "/api/auth/register", body);
        Assert.Contains(message, response.AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registering_an_email_twice_is_a_409()
    {
        var email = NewEmail("twice");
        (await RegisterAsync(email, NewPassword())).AssertStatus(HttpStatusCode.Created);
        (await RegisterAsync(email.ToUpperInvariant(), NewPassword())).AssertError(HttpStatusCode.Conflict, "invalid_request_error");
    }

    [Fact]
    public async Task A_sign_in_token_validates_against_the_published_JWKS_alone_and_survives_a_key_rotation()
    {
        var (userId, token) = await SignedInAsync("jwks");

        var configuration = await service.SendAsync(HttpMethod.Get, "/.well-known/openid-configuration");
        configuration.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("llmgateway", configuration.Body.GetProperty("issuer").GetString());
        var jwksUri = new Uri(configuration.Body.GetProperty("jwks_uri").GetString()!);
        var jwks = await service.SendAsync(HttpMethod.Get, jwksUri.PathAndQuery);
        jwks.AssertStatus(HttpStatusCode.OK);
        Assert.DoesNotContain("\"d\"", jwks.Text, StringComparison.Ordinal); // public halves only
        Assert.DoesNotContain("\"p\"", jwks.Text, StringComparison.Ordinal);

        var result = await ValidateWithJwksAsync(token, jwks.Text);
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(userId, result.Claims["sub"]);
        Assert.Equal("local", result.Claims["org_id"]);
        Assert.Contains(result.Claims["role"], new object[] { "admin", "member" });

        var tampered = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");
        Assert.False((await ValidateWithJwksAsync(tampered, jwks.Text)).IsValid);

        var oldKid = new JsonWebToken(token).Kid;
        var rotated = await service.AdminAsync(HttpMethod.Post, "/admin/signing-keys/rotate");
        rotated.AssertStatus(HttpStatusCode.OK);
        var newKid = rotated.Body.GetProperty("kid").GetString()!;
        Assert.NotEqual(oldKid, newKid);

        var after = await service.SendAsync(HttpMethod.Get, "/.well-known/jwks.json");
        var kids = JsonDocument.Parse(after.Text).RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        Assert.Contains(oldKid, kids);
        Assert.Contains(newKid, kids);
        Assert.True((await ValidateWithJwksAsync(token, after.Text)).IsValid);
        (await AsUser(token, HttpMethod.Get, "/api/keys/list")).AssertStatus(HttpStatusCode.OK);

        var (_, newToken) = await SignedInAsync("after-rotation");
        Assert.Equal(newKid, new JsonWebToken(newToken).Kid);
        Assert.True((await ValidateWithJwksAsync(newToken, after.Text)).IsValid);
        Assert.Contains(await AuditAsync("action=signing_key.rotate"), e => e.GetProperty("target").GetString() == newKid);
    }

    private static Task<TokenValidationResult> ValidateWithJwksAsync(string token, string jwks) =>
        new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = "llmgateway",
            ValidAudience = "llmgateway",
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
        });

    [Fact]
    public async Task Account_limits_reach_every_key_and_disabling_revokes_them()
    {
        var (userId, token) = await SignedInAsync("limited");
        var first = (await AsUser(token, HttpMethod.Post, "/api/keys/generate", "{}")).Body.GetProperty("secret").GetString()!;
        var second = (await AsUser(token, HttpMethod.Post, "/api/keys/generate", """{"name":"second"}""")).Body.GetProperty("secret").GetString()!;
        service.Secrets.Add(first);
        service.Secrets.Add(second);

        var update = await service.AdminAsync(HttpMethod.Patch, $"/admin/users/{userId}", """{"limits":{"requests_per_minute":7,"budget_usd":3}}""");
        update.AssertStatus(HttpStatusCode.OK);
        foreach (var secret in new[] { first, second })
        {
            var root = (await service.ProjectionAsync(secret))!.Ancestors![^1];
            Assert.Equal(userId, root.Id);
            Assert.Equal(7, root.Limits.RequestsPerMinute);
            Assert.Equal(3m, root.Limits.BudgetUsd);
        }

        // A token minted from a user's key is bounded by the key and the account.
        var minted = await service.MintAsync(first, """{"ttl":"10m"}""");
        var lineage = (await service.ProjectionAsync(minted.Body.GetProperty("token").GetString()!))!.Ancestors!.Select(a => a.Id).ToList();
        Assert.Equal(userId, lineage[^1]);
        Assert.Equal(2, lineage.Count);

        var disabled = await service.AdminAsync(HttpMethod.Patch, $"/admin/users/{userId}", """{"disabled":true}""");
        disabled.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(3, disabled.Body.GetProperty("revoked_credentials").GetInt32());
        Assert.Null(await service.ProjectionAsync(first));
        Assert.Null(await service.ProjectionAsync(second));
        (await AsUser(token, HttpMethod.Get, "/api/keys/list")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Minted_bootstrapped_and_refreshed_tokens_are_audited_with_actor_and_address()
    {
        var (parentId, parent) = await service.CreateApiKeyAsync();
        var minted = await service.SendAsync(HttpMethod.Post, "/v1/tokens", """{"ttl":"5m","agent_name":"audited-agent"}""", parent, clientAddress: "198.51.100.21");
        minted.AssertStatus(HttpStatusCode.OK);
        service.Secrets.Add(minted.Body.GetProperty("token").GetString()!);
        var tokenId = minted.Body.GetProperty("id").GetString()!;
        var mint = Assert.Single(await AuditAsync($"target={tokenId}"));
        Assert.Equal("credential.mint", mint.GetProperty("action").GetString());
        Assert.Equal(parentId, mint.GetProperty("actor_id").GetString());
        Assert.Equal("198.51.100.21", mint.GetProperty("source_address").GetString());
        Assert.Equal("audited-agent", mint.GetProperty("details").GetProperty("agent_name").GetString());

        var device = "audited-device-" + Guid.NewGuid().ToString("N")[..8];
        var bootstrap = await service.SendAsync(HttpMethod.Post, "/bootstrap", $$"""{"device_id":"{{device}}"}""", clientAddress: "198.51.100.22");
        bootstrap.AssertStatus(HttpStatusCode.OK);
        var wrapper = bootstrap.Body.GetProperty("wrapper_token").GetString()!;
        service.Secrets.Add(wrapper);
        var refreshed = await service.SendAsync(HttpMethod.Post, "/refresh", credential: wrapper, bearer: true, clientAddress: "198.51.100.23");
        refreshed.AssertStatus(HttpStatusCode.OK);
        service.Secrets.Add(refreshed.Body.GetProperty("wrapper_token").GetString()!);

        var issued = await AuditAsync($"actor_id=device:{device}");
        var boot = Assert.Single(issued);
        Assert.Equal("credential.bootstrap", boot.GetProperty("action").GetString());
        Assert.Equal("198.51.100.22", boot.GetProperty("source_address").GetString());
        var refresh = Assert.Single(await AuditAsync($"actor_id={boot.GetProperty("target").GetString()}"));
        Assert.Equal("credential.refresh", refresh.GetProperty("action").GetString());
        Assert.Equal("198.51.100.23", refresh.GetProperty("source_address").GetString());
    }

    [Fact]
    public async Task Passwords_never_reach_the_logs_the_audit_log_or_the_database()
    {
        var email = NewEmail("hygiene");
        var password = "hygiene-" + Guid.NewGuid().ToString("N");
        var wrong = "hygiene-wrong-" + Guid.NewGuid().ToString("N");
        (await RegisterAsync(email, password)).AssertStatus(HttpStatusCode.Created);
        service.Secrets.Add(wrong);
        (await LoginAsync(email, wrong)).AssertStatus(HttpStatusCode.Unauthorized);
        (await LoginAsync(email, password)).AssertStatus(HttpStatusCode.OK);
        (await service.SendAsync(HttpMethod.Post, "/api/auth/register", JsonSerializer.Serialize(new { email = "bad", password = wrong })))
            .AssertStatus(HttpStatusCode.BadRequest);

        await service.App.WaitForLogAsync("tokenservice", l => l.Contains("signed in from", StringComparison.Ordinal));
        var logs = string.Join('\n', service.App.GetLogs("tokenservice"));
        var database = new StringBuilder();
        // Unpooled: another test in the collection may have restarted PostgreSQL, leaving this process's pooled connections dead.
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(service.PostgresConnectionString) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync();
            foreach (var table in new[] { "audit_log", "users", "invites" })
            {
                await using var command = new NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    database.AppendLine(reader.GetString(0));
                }
            }
        }

        var dump = database.ToString();
        Assert.Contains(email, dump, StringComparison.Ordinal); // the scan sees real rows
        Assert.Contains("wrong_password", dump, StringComparison.Ordinal);
        foreach (var secret in new[] { password, wrong })
        {
            Assert.DoesNotContain(secret, dump, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}
