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

    /// <summary>
    /// A person signed in with a JWT from a configured issuer (<c>Identity:Issuers</c>). Never stored or projected: the
    /// services synthesize it per request from the validated token (see <c>LlmGateway.Identity</c>).
    /// </summary>
    [JsonStringEnumMemberName("user")]
    User,
}

/// <summary>
/// The one spelling of <see cref="CredentialKind"/> outside JSON serialization: usage events, SQL, logs, messages
/// (the same snake_case names as the <see cref="JsonStringEnumMemberNameAttribute"/>s above).
/// </summary>
public static class CredentialKindNames
{
    public static string Of(CredentialKind kind) => kind switch
    {
        CredentialKind.ApiKey => "api_key",
        CredentialKind.AgentToken => "agent_token",
        CredentialKind.DeviceToken => "device_token",
        CredentialKind.AdminKey => "admin_key",
        CredentialKind.User => "user",
        _ => "unknown",
    };

    public static bool TryParse(string? name, out CredentialKind kind)
    {
        foreach (var candidate in Enum.GetValues<CredentialKind>())
        {
            if (Of(candidate) == name)
            {
                kind = candidate;
                return true;
            }
        }

        kind = default;
        return false;
    }

    public static CredentialKind Parse(string name) =>
        TryParse(name, out var kind) ? kind : throw new FormatException($"Unknown credential kind '{name}'.");
}
