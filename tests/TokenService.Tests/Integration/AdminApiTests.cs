using System.Net;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class AdminApiTests(TokenServiceApp service)
{
    [Fact]
    public async Task The_admin_api_needs_an_admin_key()
    {
        var (_, apiKey) = await service.CreateApiKeyAsync();

        (await service.SendAsync(HttpMethod.Get, "/admin/credentials")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
        (await service.SendAsync(HttpMethod.Get, "/admin/credentials", credential: "lgw_adm_guess")).AssertError(HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Contains("needs an admin key", (await service.SendAsync(HttpMethod.Get, "/admin/credentials", credential: apiKey)).AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_bootstrap_admin_key_works_by_x_api_key_and_bearer_and_is_projected_as_an_admin_key()
    {
        (await service.SendAsync(HttpMethod.Get, "/admin/credentials", credential: service.AdminKey)).AssertStatus(HttpStatusCode.OK);
        (await service.SendAsync(HttpMethod.Get, "/admin/credentials", credential: service.AdminKey, bearer: true)).AssertStatus(HttpStatusCode.OK);

        var projection = await service.ProjectionAsync(service.AdminKey);
        Assert.Equal(CredentialKind.AdminKey, projection!.Kind);
        Assert.Equal("cred_bootstrap_admin", projection.Id);
        Assert.Equal("cred_bootstrap_admin", (await service.IntrospectAsync(service.AdminKey)).Body.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Secrets_are_shown_once_and_admin_keys_created_by_admins_can_administer()
    {
        var created = await service.AdminAsync(HttpMethod.Post, "/admin/credentials", """{"kind":"admin_key","name":"ops","owner":{"type":"user","id":"ops-1"}}""");
        created.AssertStatus(HttpStatusCode.Created);
        var id = created.Body.GetProperty("id").GetString()!;
        var secret = created.Body.GetProperty("secret").GetString()!;
        service.Secrets.Add(secret);
        Assert.StartsWith("lgw_adm_", secret, StringComparison.Ordinal);
        Assert.Equal($"/admin/credentials/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal("lgw_adm_…" + secret[^4..], created.Body.GetProperty("hint").GetString());

        var read = await service.AdminAsync(HttpMethod.Get, $"/admin/credentials/{id}");
        read.AssertStatus(HttpStatusCode.OK);
        Assert.False(read.Body.TryGetProperty("secret", out _));
        Assert.DoesNotContain(secret, read.Text, StringComparison.Ordinal);
        var list = await service.AdminAsync(HttpMethod.Get, "/admin/credentials?kind=admin_key&limit=1000");
        Assert.DoesNotContain(secret, list.Text, StringComparison.Ordinal);
        Assert.Contains(list.Body.GetProperty("data").EnumerateArray(), c => c.GetProperty("id").GetString() == id);

        (await service.SendAsync(HttpMethod.Get, "/admin/audit?limit=1", credential: secret)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Every_admin_change_is_audited_with_actor_target_and_source_address()
    {
        var created = await service.AdminAsync(HttpMethod.Post, "/admin/credentials", """{"owner":{"type":"organization","id":"audited"}}""", clientAddress: "198.51.100.7");
        var id = created.Body.GetProperty("id").GetString()!;
        service.Secrets.Add(created.Body.GetProperty("secret").GetString()!);
        (await service.AdminAsync(HttpMethod.Patch, $"/admin/credentials/{id}", """{"name":"renamed","limits":{"requests_per_minute":5}}""", clientAddress: "198.51.100.7")).AssertStatus(HttpStatusCode.OK);
        (await service.AdminAsync(HttpMethod.Post, $"/admin/credentials/{id}/revoke", """{"reason":"rotation"}""", clientAddress: "198.51.100.7")).AssertStatus(HttpStatusCode.OK);

        var audit = await service.AdminAsync(HttpMethod.Get, $"/admin/audit?target={id}");

        var entries = audit.Body.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["credential.revoke", "credential.update", "credential.create"], entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e =>
        {
            Assert.Equal("cred_bootstrap_admin", e.GetProperty("actor_id").GetString());
            Assert.Equal("198.51.100.7", e.GetProperty("source_address").GetString());
            Assert.True(DateTimeOffset.UtcNow - e.GetProperty("at").GetDateTimeOffset() < TimeSpan.FromMinutes(5));
        });
        Assert.Equal("rotation", entries[0].GetProperty("details").GetProperty("reason").GetString());

        // A time window, [from, to): the entries just written are inside one that ends in the future, none before them.
        var first = entries[^1].GetProperty("at").GetDateTimeOffset();
        string At(DateTimeOffset at) => Uri.EscapeDataString(at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        var inside = await service.AdminAsync(HttpMethod.Get, $"/admin/audit?target={id}&from={At(first)}&to={At(DateTimeOffset.UtcNow.AddMinutes(1))}");
        Assert.Equal(3, inside.Body.GetProperty("data").GetArrayLength());
        var before = await service.AdminAsync(HttpMethod.Get, $"/admin/audit?target={id}&to={At(first)}");
        Assert.Equal(0, before.Body.GetProperty("data").GetArrayLength());
        (await service.AdminAsync(HttpMethod.Get, "/admin/audit?from=yesterday")).AssertStatus(HttpStatusCode.BadRequest);
        (await service.AdminAsync(HttpMethod.Get, $"/admin/audit?from={At(first)}&to={At(first)}")).AssertStatus(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Updates_change_the_projection_and_the_limits_endpoint_reports_them()
    {
        var (id, secret) = await service.CreateApiKeyAsync(limits: """{"requests_per_minute":100}""");

        var update = await service.AdminAsync(HttpMethod.Patch, $"/admin/credentials/{id}", """{"limits":{"requests_per_minute":10,"tokens_per_minute":1000,"max_concurrent":2,"budget_usd":3.25,"budget_period":"monthly"},"expires_at":"2099-01-01T00:00:00Z"}""");
        update.AssertStatus(HttpStatusCode.OK);

        var limits = await service.AdminAsync(HttpMethod.Get, $"/admin/credentials/{id}/limits");
        limits.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(10, limits.Body.GetProperty("limits").GetProperty("requests_per_minute").GetInt32());
        Assert.Equal(3.25m, limits.Body.GetProperty("limits").GetProperty("budget_usd").GetDecimal());
        var projection = await service.ProjectionAsync(secret);
        Assert.Equal(new CredentialLimits { RequestsPerMinute = 10, TokensPerMinute = 1000, MaxConcurrent = 2, BudgetUsd = 3.25m, BudgetPeriod = "monthly" }, projection!.Limits);
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), projection.ExpiresAt);
    }

    [Theory]
    [InlineData("""{"owner":{"type":"user","id":"u"},"kind":"device_token"}""", "issued by POST /bootstrap")]
    [InlineData("""{"name":"no owner"}""", "owner is required")]
    [InlineData("""{"owner":{"type":"team","id":"t"}}""", "owner.type must be one of")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"kind":"agent_token"}""", "Agent tokens must expire")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"kind":"agent_token","ttl":"48h"}""", "at most 24h")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"ttl":"1h","expires_at":"2099-01-01T00:00:00Z"}""", "either expires_at or ttl")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"expires_at":"2001-01-01T00:00:00Z"}""", "must be in the future")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"agent_name":"a"}""", "agent_name applies to agent tokens only")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"limits":{"budget_period":"weekly","budget_usd":1}}""", "budget_period must be one of")]
    [InlineData("""{"owner":{"type":"user","id":"u"},"external_key":"sk_test_abcdefghijklmnopqrstuvwxyz"}""", "does not match any configured pattern")]
    public async Task Invalid_creations_are_rejected_with_a_clear_400(string request, string message) =>
        Assert.Contains(message, (await service.AdminAsync(HttpMethod.Post, "/admin/credentials", request)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);

    [Theory]
    [InlineData("/admin/credentials?limit=0", "limit must be a number from 1 to 1000")]
    [InlineData("/admin/credentials?status=dead", "status must be one of")]
    [InlineData("/admin/credentials?kind=root", "kind must be one of")]
    [InlineData("/admin/audit?after_id=abc", "after_id must be an audit entry id")]
    public async Task Invalid_queries_are_rejected_with_a_clear_400(string path, string message) =>
        Assert.Contains(message, (await service.AdminAsync(HttpMethod.Get, path)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);

    [Fact]
    public async Task The_bootstrap_admin_key_cannot_be_changed_or_revoked_through_the_api()
    {
        (await service.AdminAsync(HttpMethod.Delete, "/admin/credentials/cred_bootstrap_admin")).AssertError(HttpStatusCode.Forbidden, "permission_error");
        (await service.AdminAsync(HttpMethod.Patch, "/admin/credentials/cred_bootstrap_admin", """{"name":"x"}""")).AssertError(HttpStatusCode.Forbidden, "permission_error");
    }

    [Fact]
    public async Task An_external_key_works_only_once_an_admin_registered_it()
    {
        var external = TokenServiceApp.ExternalPrefix + Guid.NewGuid().ToString("N");
        service.Secrets.Add(external);
        Assert.Contains("is not valid", (await service.MintAsync(external, "{}")).AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);

        var registered = await service.AdminAsync(HttpMethod.Post, "/admin/credentials", $$"""{"owner":{"type":"organization","id":"workos-customer"},"external_key":"{{external}}","models":["claude-sonnet-*"]}""");
        registered.AssertStatus(HttpStatusCode.Created);
        Assert.False(registered.Body.TryGetProperty("secret", out _));
        Assert.True(registered.Body.GetProperty("external").GetBoolean());
        Assert.Equal("sk_live_…" + external[^4..], registered.Body.GetProperty("hint").GetString());

        (await service.MintAsync(external, """{"ttl":"5m"}""")).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("workos-customer", (await service.ProjectionAsync(external))!.Owner.Id);
        (await service.AdminAsync(HttpMethod.Post, "/admin/credentials", $$"""{"owner":{"type":"organization","id":"x"},"external_key":"{{external}}"}""")).AssertError(HttpStatusCode.Conflict, "invalid_request_error");
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_in_the_error_shape()
    {
        (await service.SendAsync(HttpMethod.Get, "/nope")).AssertError(HttpStatusCode.NotFound, "not_found_error");
        (await service.SendAsync(HttpMethod.Get, "/v1/tokens")).AssertError(HttpStatusCode.MethodNotAllowed, "invalid_request_error");
        (await service.SendAsync(HttpMethod.Post, "/internal/introspect", """{"hash":"abc"}""", internalKey: service.InternalKey)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error");
    }
}

[Collection(TokenServiceCollection.Name)]
public sealed class InternalRouteTests(TokenServiceApp service)
{
    [Fact]
    public async Task Internal_routes_answer_only_a_caller_with_the_internal_key()
    {
        var (id, secret) = await service.CreateApiKeyAsync();
        var introspect = $$"""{"hash":"{{CredentialFormat.Hash(secret)}}"}""";

        (await service.SendAsync(HttpMethod.Post, "/internal/introspect", introspect)).AssertError(HttpStatusCode.NotFound, "not_found_error");
        (await service.SendAsync(HttpMethod.Post, "/internal/introspect", introspect, internalKey: "wrong")).AssertError(HttpStatusCode.NotFound, "not_found_error");
        // A valid admin credential is not the internal key either.
        (await service.SendAsync(HttpMethod.Post, "/internal/introspect", introspect, credential: service.AdminKey)).AssertError(HttpStatusCode.NotFound, "not_found_error");

        var answered = await service.SendAsync(HttpMethod.Post, "/internal/introspect", introspect, internalKey: service.InternalKey);
        answered.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(id, answered.Body.GetProperty("id").GetString());
    }
}
