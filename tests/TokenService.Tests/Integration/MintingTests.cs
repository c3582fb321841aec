using System.Globalization;
using System.Net;
using LlmGateway.Contracts.Credentials;
using Npgsql;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class MintingTests(TokenServiceApp service)
{
    [Fact]
    public async Task An_agent_token_has_creddys_shape_and_expires_with_its_ttl()
    {
        var (id, secret) = await service.CreateApiKeyAsync();
        var before = DateTimeOffset.UtcNow;

        var response = await service.MintAsync(secret, """{"ttl":"1h","agent_name":"my-agent"}""");

        response.AssertStatus(HttpStatusCode.OK);
        var token = response.Body.GetProperty("token").GetString()!;
        Assert.StartsWith("lgw_agt_", token, StringComparison.Ordinal);
        Assert.Equal("1h0m0s", response.Body.GetProperty("ttl").GetString());
        var expiresText = response.Body.GetProperty("expires_at").GetString()!;
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", expiresText);
        var expiresAt = DateTimeOffset.Parse(expiresText, CultureInfo.InvariantCulture);
        Assert.InRange(expiresAt, before.AddHours(1).AddSeconds(-2), DateTimeOffset.UtcNow.AddHours(1));

        var projection = await service.ProjectionAsync(token);
        Assert.Equal("my-agent", projection!.AgentName);
        Assert.Equal(id, projection.ParentId);
        Assert.Equal("acme", projection.Owner.Id);
        var ttl = await service.Redis.GetDatabase().KeyTimeToLiveAsync(LlmGateway.Contracts.RedisKeys.Credential(LlmGateway.Contracts.Credentials.CredentialFormat.Hash(token)));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Minting_is_never_anonymous()
    {
        var response = await service.SendAsync(HttpMethod.Post, "/v1/tokens", """{"ttl":"1h"}""");
        Assert.Contains("credential is required", response.AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ttl_over_24h_is_refused_naming_the_maximum()
    {
        var (_, secret) = await service.CreateApiKeyAsync();

        var message = (await service.MintAsync(secret, """{"ttl":"25h"}""")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error");

        Assert.Contains("at most 24h", message, StringComparison.Ordinal);
        Assert.Contains("25h", message, StringComparison.Ordinal);
        (await service.MintAsync(secret, """{"ttl":"24h"}""")).AssertStatus(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("""{"models":["claude-opus-*"]}""", "models [\"claude-opus-*\"] are not within the parent credential's models [\"claude-sonnet-*\"]")]
    [InlineData("""{"routes":["*"]}""", "routes [\"*\"] are not within the parent credential's routes")]
    [InlineData("""{"limits":{"requests_per_minute":61}}""", "limits.requests_per_minute (61) exceeds the parent credential's limit (60)")]
    [InlineData("""{"limits":{"budget_usd":5.5}}""", "limits.budget_usd (5.5) exceeds the parent credential's budget (5)")]
    public async Task Minting_wider_than_the_parent_is_refused(string request, string message)
    {
        var (_, secret) = await service.CreateAsync("""
            {"owner":{"type":"user","id":"narrow-user"},"models":["claude-sonnet-*"],"routes":["/v1/messages"],
             "limits":{"requests_per_minute":60,"budget_usd":5}}
            """);

        var error = (await service.MintAsync(secret, request)).AssertError(HttpStatusCode.Forbidden, "permission_error");

        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_cannot_outlive_its_parent_and_without_a_ttl_it_ends_with_the_parent()
    {
        var (id, secret) = await service.CreateAsync("""{"owner":{"type":"user","id":"short-lived"},"ttl":"30m"}""");
        var parentExpiry = (await service.AdminAsync(HttpMethod.Get, $"/admin/credentials/{id}")).Body.GetProperty("expires_at").GetString();

        var refused = (await service.MintAsync(secret, """{"ttl":"1h"}""")).AssertError(HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("would outlive the parent credential", refused, StringComparison.Ordinal);

        var defaulted = await service.MintAsync(secret, "{}");
        defaulted.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(parentExpiry, defaulted.Body.GetProperty("expires_at").GetString());
        Assert.Matches("^(30m0s|29m5[0-9]s)$", defaulted.Body.GetProperty("ttl").GetString());
    }

    [Fact]
    public async Task An_expired_credential_is_refused_by_minting_and_introspection()
    {
        var (id, secret) = await service.CreateApiKeyAsync();
        await using (var connection = new NpgsqlConnection(service.PostgresConnectionString))
        {
            await connection.OpenAsync();
            await using var expire = new NpgsqlCommand("UPDATE credentials SET expires_at = now() - interval '1 second' WHERE id = @id", connection);
            expire.Parameters.AddWithValue("id", id);
            Assert.Equal(1, await expire.ExecuteNonQueryAsync());
        }

        Assert.Contains("expired at", (await service.MintAsync(secret, "{}")).AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);
        Assert.Equal("The credential has expired.", (await service.IntrospectAsync(secret)).AssertError(HttpStatusCode.NotFound, "expired"));
    }

    [Fact]
    public async Task A_minted_token_carries_its_lineage_with_each_ancestors_limits_and_follows_changes_to_them()
    {
        var (keyId, keySecret) = await service.CreateAsync("""
            {"owner":{"type":"organization","id":"lineage-org"},
             "limits":{"requests_per_minute":60,"tokens_per_minute":5000,"max_concurrent":4,"budget_usd":2.5,"budget_period":"daily"}}
            """);
        var agent = await service.MintAsync(keySecret, """{"ttl":"1h","agent_name":"planner"}""");
        agent.AssertStatus(HttpStatusCode.OK);
        var agentSecret = agent.Body.GetProperty("token").GetString()!;
        var agentId = agent.Body.GetProperty("id").GetString()!;
        var worker = await service.MintAsync(agentSecret, """{"ttl":"30m","agent_name":"worker","limits":{"requests_per_minute":30}}""");
        worker.AssertStatus(HttpStatusCode.OK);
        var workerSecret = worker.Body.GetProperty("token").GetString()!;

        Assert.Null((await service.ProjectionAsync(keySecret))!.Ancestors);
        var workerProjection = (await service.ProjectionAsync(workerSecret))!;
        Assert.Equal([agentId, keyId], workerProjection.Ancestors!.Select(a => a.Id));
        Assert.Equal([CredentialKind.AgentToken, CredentialKind.ApiKey], workerProjection.Ancestors!.Select(a => a.Kind));
        var expectedKeyLimits = new CredentialLimits { RequestsPerMinute = 60, TokensPerMinute = 5000, MaxConcurrent = 4, BudgetUsd = 2.5m, BudgetPeriod = "daily" };
        Assert.Equal(expectedKeyLimits, workerProjection.Ancestors![1].Limits);
        Assert.Equal(expectedKeyLimits, workerProjection.Ancestors![0].Limits); // the agent token copied its parent's limits
        Assert.Equal(30, workerProjection.Limits.RequestsPerMinute);
        var introspected = (await service.IntrospectAsync(workerSecret)).Body.GetProperty("ancestors");
        Assert.Equal(keyId, introspected[1].GetProperty("id").GetString());

        // Widening the key keeps its tokens, and their projections show the key's new limits.
        (await service.AdminAsync(HttpMethod.Patch, $"/admin/credentials/{keyId}",
            """{"limits":{"requests_per_minute":100,"tokens_per_minute":5000,"max_concurrent":4,"budget_usd":2.5,"budget_period":"daily"}}""")).AssertStatus(HttpStatusCode.OK);
        var updated = (await service.ProjectionAsync(workerSecret))!;
        Assert.Equal(100, updated.Ancestors![1].Limits.RequestsPerMinute);
        Assert.Equal(60, updated.Ancestors![0].Limits.RequestsPerMinute);
        Assert.Equal(100, (await service.ProjectionAsync(agentSecret))!.Ancestors!.Single().Limits.RequestsPerMinute);
    }

    [Theory]
    [InlineData("""{"ttl":"1x"}""", "unknown unit \"x\"")]
    [InlineData("""{"ttl":"60"}""", "missing a unit")]
    [InlineData("""{"ttl":3600}""", "'ttl' must be a string.")]
    [InlineData("""{"ttl":"0s"}""", "at least 1s")]
    [InlineData("""{"ttl":"-1h"}""", "at least 1s")]
    [InlineData("""{"tll":"1h"}""", "Unknown field 'tll'")]
    [InlineData("""{"limits":{"requests_per_minute":0}}""", "must be at least 1")]
    [InlineData("""{"models":[]}""", "models must not be empty")]
    [InlineData("""{"agent_name":""}""", "agent_name must be 1 to 128 characters")]
    [InlineData("""not json""", "not valid JSON")]
    public async Task Bad_values_are_rejected_with_a_clear_400(string request, string message)
    {
        var (_, secret) = await service.CreateApiKeyAsync();
        Assert.Contains(message, (await service.MintAsync(secret, request)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lgw_key_short")]
    [InlineData("lgw_key_0000000000000000000000000000000000000000000000000")]
    [InlineData("sk_test_abcdefghijklmnopqrstuvwxyz")]
    public async Task Malformed_credentials_are_refused_without_lookup(string credential)
    {
        var message = (await service.MintAsync(credential, "{}")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Contains("malformed", message, StringComparison.Ordinal);
    }
}
