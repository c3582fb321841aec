using System.Security.Cryptography;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// The operator's admin key from configuration (<c>Admin:BootstrapKey</c>). It works without any database: callers are
/// compared by hash in constant time. TokenService also stores (by hash) and projects it as the admin credential
/// <see cref="CredentialId"/>, so the Gateway and other services can verify it like any other credential.
/// </summary>
public sealed class BootstrapAdminKey
{
    public const string CredentialId = "cred_bootstrap_admin";

    private readonly byte[]? hashBytes;

    public BootstrapAdminKey(IOptions<AdminOptions> options)
    {
        var key = options.Value.BootstrapKey?.Trim();
        if (string.IsNullOrEmpty(key))
        {
            return;
        }

        Hash = CredentialFormat.Hash(key);
        hashBytes = Convert.FromHexString(Hash);
        // A gateway-format key can be shown as prefix…last4; an operator-chosen value may be short, so none of it is shown.
        Hint = CredentialFormat.TryParse(key, out _) ? CredentialFormat.Redact(key) : "(configured admin key)";
        IsGatewayFormat = CredentialFormat.TryParse(key, out _);
    }

    public bool IsConfigured => hashBytes is not null;
    public string? Hash { get; }
    public string Hint { get; } = "";
    public bool IsGatewayFormat { get; }

    /// <summary>Constant-time comparison of a presented credential's hash with the configured key's.</summary>
    public bool Matches(string presentedHash)
    {
        if (hashBytes is null || presentedHash.Length != 64)
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[32];
        return Convert.FromHexString(presentedHash, presented, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == 32
            && CryptographicOperations.FixedTimeEquals(presented, hashBytes);
    }

    public Credential ToCredential(DateTimeOffset createdAt) => new()
    {
        Id = CredentialId,
        Hash = Hash ?? throw new InvalidOperationException("No bootstrap admin key is configured."),
        Kind = CredentialKind.AdminKey,
        Hint = Hint,
        Name = "Bootstrap admin key (Admin:BootstrapKey)",
        Owner = new CredentialOwner { Type = "user", Id = "bootstrap-admin", Name = "Operator" },
        Scope = CredentialScope.Unrestricted,
        CreatedAt = createdAt,
        CreatedBy = "configuration",
    };
}
