using System.Net.Mail;

namespace LlmGateway.TokenService.Model;

/// <summary>Checks of account fields; each returns a client-facing message or null.</summary>
public static class AccountRules
{
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    public static string? Email(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return "email is required";
        }

        var trimmed = email.Trim();
        if (trimmed.Length > 254)
        {
            return "email may be at most 254 characters";
        }

        // MailAddress accepts display names and comments ("A <a@b.c>"); only a bare address with a dotted domain is an email here.
        var at = trimmed.IndexOf('@');
        return at > 0 && at == trimmed.LastIndexOf('@') && trimmed.IndexOf('.', at) > at + 1 && !trimmed.EndsWith('.')
            && !trimmed.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
            && MailAddress.TryCreate(trimmed, out var parsed) && parsed.Address == trimmed
                ? null
                : $"email \"{trimmed}\" is not an email address";
    }

    public static string? Password(string? password, int minLength)
    {
        if (string.IsNullOrEmpty(password))
        {
            return "password is required";
        }

        if (password.Length < minLength)
        {
            return $"password must be at least {minLength} characters";
        }

        return password.Length > 1024 ? "password may be at most 1024 characters" : null;
    }

    public static string? Role(string? role) =>
        role is null || UserRoles.All.Contains(role) ? null : $"role must be one of \"viewer\", \"member\", \"admin\" (got \"{role}\")";
}
