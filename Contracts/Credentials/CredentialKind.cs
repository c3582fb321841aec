namespace LlmGateway.Contracts.Credentials;

/// <summary>The kinds of credential the gateway issues. Each has its own fixed prefix (see <see cref="CredentialFormat"/>).</summary>
public enum CredentialKind
{
    /// <summary>Long-lived key for an app or team; optional expiry.</summary>
    ApiKey,

    /// <summary>Short-lived token for an AI agent (ttl at most 24 h), minted from another credential.</summary>
    AgentToken,

    /// <summary>Token of a desktop install, obtained by bootstrap and renewed by refresh.</summary>
    DeviceToken,

    /// <summary>May call the admin API.</summary>
    AdminKey,
}
