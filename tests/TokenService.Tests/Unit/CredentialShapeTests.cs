using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class CredentialShapeTests
{
    [Fact]
    public void External_patterns_need_prefix_length_and_alphabet()
    {
        var pattern = new ExternalKeyPattern { Prefix = "sk_live_", MinLength = 24 };

        Assert.True(pattern.Matches("sk_live_" + new string('a', 16)));
        Assert.True(pattern.Matches("sk_live_AbC-123_" + new string('x', 20)));
        Assert.False(pattern.Matches("sk_live_" + new string('a', 15)));
        Assert.False(pattern.Matches("sk_test_" + new string('a', 20)));
        Assert.False(pattern.Matches("sk_live_" + new string('a', 20) + " "));
        Assert.False(pattern.Matches("sk_live_" + new string('a', 300)));
        Assert.False(new ExternalKeyPattern().Matches("anything-at-all-that-is-long"));
    }

    [Fact]
    public void The_bootstrap_admin_key_matches_only_its_own_hash()
    {
        var bootstrap = new BootstrapAdminKey(Microsoft.Extensions.Options.Options.Create(new AdminOptions { BootstrapKey = "correct horse battery staple" }));

        Assert.True(bootstrap.Matches(CredentialFormat.Hash("correct horse battery staple")));
        Assert.False(bootstrap.Matches(CredentialFormat.Hash("correct horse battery stapler")));
        Assert.False(bootstrap.Matches("not-hex"));
        Assert.Equal("(configured admin key)", bootstrap.Hint);
        Assert.Equal(CredentialKind.AdminKey, bootstrap.ToCredential(DateTimeOffset.UnixEpoch).Kind);
    }

    [Fact]
    public void A_gateway_format_bootstrap_key_shows_as_prefix_and_last4()
    {
        var key = CredentialFormat.Generate(CredentialKind.AdminKey);
        var bootstrap = new BootstrapAdminKey(Microsoft.Extensions.Options.Options.Create(new AdminOptions { BootstrapKey = key }));

        Assert.True(bootstrap.IsGatewayFormat);
        Assert.Equal("lgw_adm_…" + key[^4..], bootstrap.Hint);
    }

    [Fact]
    public void No_bootstrap_key_matches_nothing()
    {
        var bootstrap = new BootstrapAdminKey(Microsoft.Extensions.Options.Options.Create(new AdminOptions { BootstrapKey = "  " }));
        Assert.False(bootstrap.IsConfigured);
        Assert.False(bootstrap.Matches(CredentialFormat.Hash("  ")));
    }

    [Theory]
    [InlineData("lgw_key_x", null, "lgw_key_x")]
    [InlineData(null, "Bearer lgw_key_y", "lgw_key_y")]
    [InlineData(null, "bearer  lgw_key_y ", "lgw_key_y")]
    [InlineData("lgw_key_z", "Bearer lgw_key_z", "lgw_key_z")]
    public void The_credential_comes_from_x_api_key_or_bearer(string? apiKey, string? authorization, string expected)
    {
        var context = new DefaultHttpContext();
        if (apiKey is not null) context.Request.Headers["x-api-key"] = apiKey;
        if (authorization is not null) context.Request.Headers.Authorization = authorization;

        Assert.True(CallerCredential.TryRead(context.Request, out var secret, out _));
        Assert.Equal(expected, secret);
    }

    [Theory]
    [InlineData(null, null, "A credential is required")]
    [InlineData("lgw_key_a", "Bearer lgw_key_b", "different credentials")]
    [InlineData(null, "Basic dXNlcjpwYXNz", "must be \"Bearer <credential>\"")]
    public void Missing_conflicting_or_non_bearer_credentials_are_refused(string? apiKey, string? authorization, string message)
    {
        var context = new DefaultHttpContext();
        if (apiKey is not null) context.Request.Headers["x-api-key"] = apiKey;
        if (authorization is not null) context.Request.Headers.Authorization = authorization;

        Assert.False(CallerCredential.TryRead(context.Request, out _, out var error));
        Assert.Equal(401, error!.StatusCode);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_client_address_is_the_last_forwarded_for_entry()
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        Assert.Equal("127.0.0.1", CallerCredential.Address(context));

        context.Request.Headers["X-Forwarded-For"] = "10.0.0.1, 203.0.113.7";
        Assert.Equal("203.0.113.7", CallerCredential.Address(context));
    }

    [Fact]
    public void The_projection_never_holds_the_secret_and_names_the_kind()
    {
        var secret = CredentialFormat.Generate(CredentialKind.ApiKey);
        var credential = new Credential
        {
            Id = Credential.NewId(),
            Hash = CredentialFormat.Hash(secret),
            Kind = CredentialKind.ApiKey,
            Hint = CredentialFormat.Redact(secret),
            Owner = new CredentialOwner { Type = "organization", Id = "acme" },
            Scope = CredentialScope.Unrestricted,
            CreatedAt = DateTimeOffset.UnixEpoch,
            ExpiresAt = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };

        var json = CredentialProjector.Serialize(credential);

        Assert.DoesNotContain(secret[8..], json, StringComparison.Ordinal);
        Assert.DoesNotContain(credential.Hash, json, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"api_key\"", json, StringComparison.Ordinal);
        Assert.Contains("\"expires_at\":\"2030-01-01T00:00:00Z\"", json, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<CredentialProjection>(json)!;
        Assert.Equal(credential.ToProjection() with { Models = back.Models, Routes = back.Routes }, back);
        // What the Gateway and the UsageWorker read from it, through the one reader.
        var read = CredentialProjectionJson.Read(System.Text.Encoding.UTF8.GetBytes(json))!;
        Assert.Equal(credential.ToProjection() with { Models = read.Models, Routes = read.Routes }, read);
        Assert.Equal(["*"], read.Models);
    }

    [Fact]
    public void Credential_ids_sort_by_creation()
    {
        var first = Credential.NewId();
        Thread.Sleep(2);
        var second = Credential.NewId();
        Assert.True(string.CompareOrdinal(first, second) < 0);
        Assert.StartsWith("cred_", first, StringComparison.Ordinal);
    }
}
