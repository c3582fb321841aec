using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using Npgsql;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>
/// Upstream OAuth accounts end to end: the simulator plays the provider's authorization server, TokenService holds and
/// refreshes the tokens, two gateway instances send them upstream for the keys assigned to the account.
/// </summary>
[Collection(ReplicatedAppCollection.Name)]
public sealed class UpstreamOAuthTests(ReplicatedAppFixture app)
{
    private const string Model = "claude-sonnet-4-5";

    [Fact]
    public async Task A_connected_account_serves_its_assigned_key_with_its_bearer_token_and_never_shows_or_stores_it_in_plaintext()
    {
        await SetLifetimeAsync(3600);
        var account = await ConnectAsync("team-max");

        using (var status = await app.AdminAsync(HttpMethod.Get, "/api/claude/status"))
        {
            var text = status.RootElement.GetRawText();
            var entry = status.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == account);
            Assert.True(status.RootElement.GetProperty("connected").GetBoolean());
            Assert.Equal("connected", entry.GetProperty("status").GetString());
            Assert.Equal("team-max", entry.GetProperty("label").GetString());
            Assert.True(entry.GetProperty("expires_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
            Assert.DoesNotContain("simat_", text);
            Assert.DoesNotContain("simrt_", text);
        }

        var assigned = await AssignedKeyAsync(account);
        var shared = await CreateKeyAsync();
        var oauthTag = "oauth-" + Guid.NewGuid().ToString("N");
        var keyTag = "apikey-" + Guid.NewGuid().ToString("N");
        using (var ok = await SendAsync(0, assigned, oauthTag))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var ok = await SendAsync(0, shared, keyTag))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var oauthHeaders = await UpstreamHeadersAsync(oauthTag);
        Assert.StartsWith("Bearer sha256:", oauthHeaders.GetProperty("authorization").GetString());
        Assert.Contains("oauth-2025-04-20", oauthHeaders.GetProperty("anthropic-beta").GetString());
        Assert.False(oauthHeaders.TryGetProperty("x-api-key", out _), "the shared API key was sent with the OAuth token");
        var keyHeaders = await UpstreamHeadersAsync(keyTag);
        Assert.True(keyHeaders.TryGetProperty("x-api-key", out _));
        Assert.False(keyHeaders.TryGetProperty("authorization", out _));

        // At rest: Data Protection payloads, not the provider's tokens.
        await using var connection = new NpgsqlConnection(await app.App.GetConnectionStringAsync("llmgateway"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT access_token, refresh_token FROM upstream_accounts WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", account);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.False(string.IsNullOrEmpty(reader.GetString(0)));
        Assert.DoesNotContain("simat_", reader.GetString(0));
        Assert.DoesNotContain("simrt_", reader.GetString(1));

        foreach (var resource in new[] { "gateway", "tokenservice", "upstream" })
        {
            Assert.DoesNotContain(app.App.GetLogs(resource), line => line.Contains("simat_") || line.Contains("simrt_") || line.Contains("simcode_"));
        }
    }

    [Fact]
    public async Task An_expired_token_is_refreshed_once_for_concurrent_calls_on_two_gateway_instances()
    {
        await SetLifetimeAsync(2);
        var account = await ConnectAsync("short-lived");
        var key = await AssignedKeyAsync(account);
        // Tokens issued from now on last long: the refresh below is the only one needed.
        await SetLifetimeAsync(3600);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var before = await RefreshGrantsAsync();

        var calls = Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await SendAsync(i % 2, key, null);
            return response.StatusCode;
        });
        var statuses = await Task.WhenAll(calls);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(before + 1, await RefreshGrantsAsync());
        using var status = await app.AdminAsync(HttpMethod.Get, "/api/claude/status");
        var entry = status.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == account);
        Assert.Equal(JsonValueKind.String, entry.GetProperty("last_refresh_at").ValueKind);
    }

    [Fact]
    public async Task A_revoked_refresh_token_marks_the_account_and_its_callers_get_a_clear_error_without_fallback()
    {
        await SetLifetimeAsync(2);
        var account = await ConnectAsync("to-be-revoked");
        var key = await AssignedKeyAsync(account);
        await SetLifetimeAsync(3600);
        using (var revoke = await Simulator().PostAsync("/_sim/oauth/revoke-all", null))
        {
            revoke.EnsureSuccessStatusCode();
        }

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var tag = "revoked-" + Guid.NewGuid().ToString("N");
        using var response = await SendAsync(1, key, tag);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var message = error.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Contains($"upstream account {account} needs to be reconnected by an administrator", message);
        Assert.Contains("invalid_grant", message);
        using (var seen = await Simulator().GetAsync($"/sim/requests/{tag}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, seen.StatusCode);
        }

        using var status = await app.AdminAsync(HttpMethod.Get, "/api/claude/status");
        var entry = status.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == account);
        Assert.Equal("refresh_failed", entry.GetProperty("status").GetString());
        Assert.Contains("invalid_grant", entry.GetProperty("last_error").GetString());
    }

    [Fact]
    public async Task After_a_disconnect_the_assigned_keys_get_the_reconnect_error_at_once()
    {
        await SetLifetimeAsync(3600);
        var account = await ConnectAsync("to-be-disconnected");
        var key = await AssignedKeyAsync(account);
        using (var ok = await SendAsync(0, key, null))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (await app.AdminAsync(HttpMethod.Delete, $"/api/claude/disconnect?account_id={account}"))
        {
        }

        // The gateway had the token cached; the disconnect broadcast drops it (pub/sub is asynchronous: a short wait).
        HttpStatusCode last = 0;
        for (var i = 0; i < 50 && last != HttpStatusCode.ServiceUnavailable; i++)
        {
            using var response = await SendAsync(0, key, null);
            last = response.StatusCode;
            if (last == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Contains($"upstream account {account} needs to be reconnected", await response.Content.ReadAsStringAsync());
            }
            else
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, last);
    }

    private HttpClient Simulator() => app.App.CreateHttpClient("upstream");

    private async Task SetLifetimeAsync(int seconds)
    {
        using var response = await Simulator().PostAsync($"/_sim/oauth/lifetime?seconds={seconds}", null);
        response.EnsureSuccessStatusCode();
    }

    private async Task<int> RefreshGrantsAsync()
    {
        using var stats = JsonDocument.Parse(await Simulator().GetStringAsync("/_sim/oauth/stats"));
        return stats.RootElement.GetProperty("refresh_grants").GetInt32();
    }

    /// <summary>connect → the provider's authorize page (the simulator answers with a code at once) → callback with code#state.</summary>
    private async Task<string> ConnectAsync(string label)
    {
        using var connect = await app.AdminAsync(HttpMethod.Get, $"/api/claude/connect?label={label}");
        var url = new Uri(connect.RootElement.GetProperty("authorization_url").GetString()!);
        var state = connect.RootElement.GetProperty("state").GetString()!;
        Assert.Contains("code_challenge_method=S256", url.Query);
        Assert.DoesNotContain("code_verifier", url.Query);
        using var authorize = JsonDocument.Parse(await Simulator().GetStringAsync(url.AbsolutePath + url.Query + "&mode=json"));
        Assert.Equal(state, authorize.RootElement.GetProperty("state").GetString());
        var code = authorize.RootElement.GetProperty("code").GetString()!;

        using var callback = await app.AdminAsync(HttpMethod.Post, "/api/claude/callback", new { code = code + "#" + state });
        Assert.Equal("connected", callback.RootElement.GetProperty("status").GetString());
        // A state is good once.
        using (await app.AdminAsync(HttpMethod.Post, "/api/claude/callback", new { code = code + "#" + state }, HttpStatusCode.BadRequest))
        {
        }

        return callback.RootElement.GetProperty("account_id").GetString()!;
    }

    private async Task<string> CreateKeyAsync()
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials", new
        {
            kind = "api_key",
            name = "oauth test",
            owner = new { type = "organization", id = "org_oauth_tests" },
        }, HttpStatusCode.Created);
        return created.RootElement.GetProperty("secret").GetString()!;
    }

    /// <summary>A new key assigned to the account, once its projection in Redis names the account.</summary>
    private async Task<string> AssignedKeyAsync(string account)
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials", new
        {
            kind = "api_key",
            name = "oauth test",
            owner = new { type = "organization", id = "org_oauth_tests" },
        }, HttpStatusCode.Created);
        var secret = created.RootElement.GetProperty("secret").GetString()!;
        var id = created.RootElement.GetProperty("id").GetString()!;
        using (await app.AdminAsync(HttpMethod.Put, $"/admin/upstream-accounts/{account}/assignments", new { credential_id = id }))
        {
        }

        var projection = JsonSerializer.Deserialize<CredentialProjection>(
            (string)(await app.Redis.GetDatabase().StringGetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret))))!)!;
        Assert.Equal(account, projection.UpstreamAccount);
        return secret;
    }

    private async Task<HttpResponseMessage> SendAsync(int replica, string key, string? tag)
    {
        using var http = new HttpClient { BaseAddress = app.Gateway(replica) };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = JsonContent.Create(new { model = Model, max_tokens = 16, messages = new[] { new { role = "user", content = "hello" } } }),
        };
        request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        if (tag is not null)
        {
            request.Headers.Add("x-sim-request-tag", tag);
        }

        return await http.SendAsync(request);
    }

    private async Task<JsonElement> UpstreamHeadersAsync(string tag)
    {
        using var record = JsonDocument.Parse(await Simulator().GetStringAsync($"/sim/requests/{tag}"));
        return record.RootElement.GetProperty("headers").Clone();
    }
}
