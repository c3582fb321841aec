using System.Text.Json.Serialization;

namespace LlmGateway.Contracts.Credentials;

/// <summary>The kinds of credential the gateway issues. Each has its own fixed prefix (see <see cref="CredentialFormat"/>).</summary>
/// <remarks>On the wire (Redis projection, APIs) a kind is its snake_case name; integers are still accepted when reading.</remarks>
[JsonConverter(typeof(JsonStringEnumConverter<CredentialKind>))]
public enum CredentialKind
{
    /// <summary>Long-lived key for an app or team; optional expiry.</summary>
    [JsonStringEnumMemberName("api_key")]
    ApiKey,

    /// <summary>Short-lived token for an AI agent (ttl at most 24 h), minted from another credential.</summary>
    [JsonStringEnumMemberName("agent_token")]
    AgentToken,

    /// <summary>Token of a desktop install, obtained by bootstrap and renewed by refresh.</summary>
    [JsonStringEnumMemberName("device_token")]
    DeviceToken,

    /// <summary>May call the admin API.</summary>
    [JsonStringEnumMemberName("admin_key")]
    AdminKey,
}
