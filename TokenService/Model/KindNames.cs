using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

/// <summary>The snake_case names of <see cref="CredentialKind"/> (as in JSON), for SQL and messages.</summary>
public static class KindNames
{
    public static string Of(CredentialKind kind) => kind switch
    {
        CredentialKind.ApiKey => "api_key",
        CredentialKind.AgentToken => "agent_token",
        CredentialKind.DeviceToken => "device_token",
        CredentialKind.AdminKey => "admin_key",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
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
