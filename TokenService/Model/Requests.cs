using System.Text.Json.Serialization;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

// Request bodies. Every field is optional at the JSON level so that a missing or wrong field gets a message naming
// it (see Apis/StrictJsonBody); unknown fields are rejected. Names are snake_case on the wire.

/// <summary><c>POST /v1/tokens</c> (creddy's shape, plus optional narrowing).</summary>
public sealed class CreateTokenRequest
{
    /// <summary>Go duration, at most 24h; default <c>Tokens:DefaultTtl</c>.</summary>
    public string? Ttl { get; init; }
    public string? AgentName { get; init; }
    public List<string>? Models { get; init; }
    public List<string>? Routes { get; init; }
    public CredentialLimits? Limits { get; init; }
}

/// <summary><c>POST /bootstrap</c> (seed 002's shape).</summary>
public sealed class BootstrapRequest
{
    public string? DeviceId { get; init; }
    public string? AppVersion { get; init; }
}

/// <summary><c>POST /refresh</c>: no body is needed; a device may report its new app version.</summary>
public sealed class RefreshRequest
{
    public string? AppVersion { get; init; }
}

/// <summary><c>POST /internal/introspect</c>.</summary>
public sealed class IntrospectRequest
{
    /// <summary>Lower-case hex SHA-256 of the credential (<see cref="CredentialFormat.Hash"/>).</summary>
    public string? Hash { get; init; }
}

/// <summary><c>POST /admin/credentials</c>.</summary>
public sealed class CreateCredentialRequest
{
    /// <summary><c>api_key</c> (default), <c>admin_key</c> or <c>agent_token</c>; device tokens come from <c>/bootstrap</c>.</summary>
    public CredentialKind? Kind { get; init; }
    public string? Name { get; init; }
    public CredentialOwner? Owner { get; init; }
    public List<string>? Models { get; init; }
    public List<string>? Routes { get; init; }
    public CredentialLimits? Limits { get; init; }

    /// <summary>Absolute expiry; or <see cref="Ttl"/>, not both. Agent tokens must expire within 24h.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? Ttl { get; init; }
    public string? AgentName { get; init; }

    /// <summary>
    /// Registers a key issued by another system instead of generating one: it must match a configured
    /// <c>ExternalKeys:Patterns</c> entry, is stored by hash only, and is never returned.
    /// </summary>
    public string? ExternalKey { get; init; }
}

/// <summary>
/// <c>PATCH /admin/credentials/{id}</c>: only the fields present change. <c>"expires_at": null</c> removes the expiry
/// (API and admin keys only); <c>"name": null</c> clears the name. Models, routes and limits are replaced as a whole.
/// </summary>
public sealed class UpdateCredentialRequest
{
    private string? name;
    private DateTimeOffset? expiresAt;

    public string? Name
    {
        get => name;
        init { name = value; NameSpecified = true; }
    }

    public DateTimeOffset? ExpiresAt
    {
        get => expiresAt;
        init { expiresAt = value; ExpiresAtSpecified = true; }
    }

    public List<string>? Models { get; init; }
    public List<string>? Routes { get; init; }
    public CredentialLimits? Limits { get; init; }

    [JsonIgnore] public bool NameSpecified { get; private init; }
    [JsonIgnore] public bool ExpiresAtSpecified { get; private init; }
}

/// <summary><c>POST /admin/credentials/{id}/revoke</c> (optional body).</summary>
public sealed class RevokeRequest
{
    public string? Reason { get; init; }
}
