using System.Text.Json.Serialization;

namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// What the Gateway needs to know about an active credential. TokenService writes it to Redis as JSON under
/// <see cref="RedisKeys.Credential"/> (expiring with the credential) and returns it from introspection;
/// the Gateway reads it. It never contains the secret, only its <see cref="Hint"/>.
/// </summary>
public sealed record CredentialProjection
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("kind")] public required CredentialKind Kind { get; init; }
    /// <summary><c>prefix…last4</c> of the secret, for logs and lists.</summary>
    [JsonPropertyName("hint")] public required string Hint { get; init; }
    [JsonPropertyName("owner")] public required CredentialOwner Owner { get; init; }
    [JsonPropertyName("agent_name")] public string? AgentName { get; init; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; init; }
    /// <summary>Model allowlist; entries may end in <c>*</c>. <c>["*"]</c> allows every model.</summary>
    [JsonPropertyName("models")] public IReadOnlyList<string> Models { get; init; } = ["*"];
    /// <summary>Route allowlist (path patterns such as <c>/v1/messages</c>, <c>/v1/*</c>). <c>["*"]</c> allows every route.</summary>
    [JsonPropertyName("routes")] public IReadOnlyList<string> Routes { get; init; } = ["*"];
    [JsonPropertyName("limits")] public CredentialLimits Limits { get; init; } = new();
    [JsonPropertyName("expires_at")] public DateTimeOffset? ExpiresAt { get; init; }
    [JsonPropertyName("parent_id")] public string? ParentId { get; init; }

    /// <summary>
    /// The credentials this one was minted from, nearest first (parent, grandparent, …), each with its own limits.
    /// Null or empty for a credential that was not minted. The Gateway charges a request to the credential and to every
    /// ancestor, so tokens minted from one credential can never together exceed its limits.
    /// </summary>
    [JsonPropertyName("ancestors")] public IReadOnlyList<CredentialAncestor>? Ancestors { get; init; }

    /// <summary>
    /// The upstream OAuth account that serves this credential (assigned by an admin to the key or its organization), or
    /// null for the upstreams' configured keys. When set, Anthropic upstreams are called with that account's token and
    /// never with another account or the shared key.
    /// </summary>
    [JsonPropertyName("upstream_account")] public string? UpstreamAccount { get; init; }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } e && e <= now;
}

/// <summary>A credential in the lineage of a minted one: whose limits (beyond the defaults of its kind) also apply.</summary>
public sealed record CredentialAncestor
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("kind")] public required CredentialKind Kind { get; init; }
    [JsonPropertyName("limits")] public CredentialLimits Limits { get; init; } = new();
}

/// <summary>Who a credential belongs to, for attribution and per-owner limits.</summary>
public sealed record CredentialOwner
{
    /// <summary><c>organization</c>, <c>user</c>, <c>device</c> or <c>agent</c>.</summary>
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    /// <summary>The organisation the owner belongs to, when there is one (for "all keys of one organisation" limits).</summary>
    [JsonPropertyName("organization_id")] public string? OrganizationId { get; init; }
}

/// <summary>Limit fields carried by a credential; null means "no limit of this kind beyond the defaults".</summary>
public sealed record CredentialLimits
{
    [JsonPropertyName("requests_per_minute")] public int? RequestsPerMinute { get; init; }
    [JsonPropertyName("tokens_per_minute")] public int? TokensPerMinute { get; init; }
    [JsonPropertyName("max_concurrent")] public int? MaxConcurrent { get; init; }
    [JsonPropertyName("budget_usd")] public decimal? BudgetUsd { get; init; }
    /// <summary><c>total</c>, <c>daily</c> or <c>monthly</c>.</summary>
    [JsonPropertyName("budget_period")] public string? BudgetPeriod { get; init; }
}
