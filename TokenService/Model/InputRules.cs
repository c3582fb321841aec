using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

/// <summary>Checks of the free-text and identifier fields of requests; each returns a client-facing message or null.</summary>
public static class InputRules
{
    public static readonly IReadOnlyList<string> OwnerTypes = ["organization", "user", "device", "agent"];

    /// <summary>Identifiers (owner ids, device ids): 1–128 of letters, digits and <c>. _ - : @</c>.</summary>
    public static string? Identifier(string? value, string field, bool required = true)
    {
        if (string.IsNullOrEmpty(value))
        {
            return required ? $"{field} is required" : null;
        }

        if (value.Length > 128)
        {
            return $"{field} may be at most 128 characters";
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or ':' or '@'))
            {
                return $"{field} may only contain letters, digits and . _ - : @ (found '{c}')";
            }
        }

        return null;
    }

    /// <summary>Labels shown to people (names, agent names, app versions, reasons): no control characters, bounded length.</summary>
    public static string? Label(string? value, string field, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length == 0 || value.Length > maxLength)
        {
            return $"{field} must be 1 to {maxLength} characters";
        }

        return value.Any(char.IsControl) ? $"{field} must not contain control characters" : null;
    }

    public static string? Owner(CredentialOwner? owner)
    {
        if (owner is null)
        {
            return "owner is required, e.g. {\"type\":\"organization\",\"id\":\"acme\",\"name\":\"Acme\"}";
        }

        if (!OwnerTypes.Contains(owner.Type))
        {
            return $"owner.type must be one of \"organization\", \"user\", \"device\", \"agent\" (got \"{owner.Type}\")";
        }

        return Identifier(owner.Id, "owner.id")
            ?? Label(owner.Name, "owner.name", 200)
            ?? Identifier(owner.OrganizationId, "owner.organization_id", required: false)
            ?? (owner.OrganizationId is not null && owner.Type == "organization" && owner.OrganizationId != owner.Id
                ? "owner.organization_id of an organization must be its own id or absent"
                : null);
    }
}
