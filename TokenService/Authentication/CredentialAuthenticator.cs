using System.Diagnostics.CodeAnalysis;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// Who is calling: the credential on the request, checked in this order — the configured bootstrap admin key (constant
/// time, no database), the shape (gateway format with checksum, or a configured external pattern; anything else is
/// refused without a lookup), then PostgreSQL, the source of truth for revocation and expiry.
/// </summary>
public sealed class CredentialAuthenticator(
    CredentialStore store,
    BootstrapAdminKey bootstrapAdmin,
    IOptions<ExternalKeyOptions> externalKeys,
    TimeProvider time)
{
    private readonly DateTimeOffset started = time.GetUtcNow();

    public async Task<AuthenticationResult> AuthenticateAsync(HttpContext context)
    {
        if (!CallerCredential.TryRead(context.Request, out var secret, out var error))
        {
            return new(null, error);
        }

        var hash = CredentialFormat.Hash(secret);
        if (bootstrapAdmin.Matches(hash))
        {
            return new(bootstrapAdmin.ToCredential(started), null);
        }

        if (!CredentialFormat.TryParse(secret, out _) && !ExternalKeyPattern.MatchesAny(externalKeys.Value.Patterns, secret))
        {
            return new(null, ApiError.Authentication(
                "The credential is malformed: it is not a gateway-issued credential (lgw_…) or its checksum does not match. Check that it was copied completely."));
        }

        var credential = await store.FindByHashAsync(hash, context.RequestAborted);
        var now = time.GetUtcNow();
        return credential?.StatusAt(now) switch
        {
            null => new(null, ApiError.Authentication("The credential is not valid.")),
            CredentialStatus.Revoked => new(null, ApiError.Authentication($"The credential {credential.Hint} has been revoked.")),
            CredentialStatus.Expired => new(null, ApiError.Authentication(
                $"The credential {credential.Hint} expired at {UtcTimestampConverter.Format(credential.ExpiresAt!.Value)}.")),
            _ => new(credential, null),
        };
    }
}

public readonly record struct AuthenticationResult(Credential? Credential, ApiError? Error)
{
    public bool TryGet([NotNullWhen(true)] out Credential? credential, [NotNullWhen(false)] out ApiError? error)
    {
        credential = Credential;
        error = Error;
        return credential is not null;
    }
}
