using System.Diagnostics.CodeAnalysis;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// Who is calling: the credential on the request, checked in this order — the configured bootstrap admin key (constant
/// time, no database), the shape (gateway format with checksum, or a configured external pattern; anything else is
/// refused without a lookup), then PostgreSQL, the source of truth for revocation and expiry. A JWT of a configured
/// issuer (told apart by its shape) is validated instead and becomes a <see cref="CredentialKind.User"/> credential of
/// the person, never stored; <see cref="AuthenticationResult.Person"/> carries the role.
/// </summary>
public sealed class CredentialAuthenticator(
    CredentialStore store,
    BootstrapAdminKey bootstrapAdmin,
    IOptions<ExternalKeyOptions> externalKeys,
    JwtCallerValidator jwt,
    IOptions<IdentityOptions> identity,
    TimeProvider time) : ICallerCredentialAuthenticator
{
    private static readonly CallerRefusal MissingRefusal =
        CallerRefusal.Unauthenticated("A credential is required: send it as the x-api-key header or as Authorization: Bearer <credential>.");

    private readonly DateTimeOffset started = time.GetUtcNow();
    private readonly CredentialLimits userLimits = identity.Value.UserLimits.ToLimits();

    CallerRefusal ICallerCredentialAuthenticator.Missing => MissingRefusal;

    /// <summary>The header step in TokenService's words (an <c>Authorization</c> header of another scheme is named as such).</summary>
    ValueTask<CallerAuthenticationOutcome> ICallerCredentialAuthenticator.AuthenticateRequestAsync(HttpContext context) =>
        CallerCredential.TryRead(context.Request, out var secret, out var error)
            ? ((ICallerCredentialAuthenticator)this).AuthenticateAsync(context, secret, context.RequestAborted)
            : ValueTask.FromResult(CallerAuthenticationOutcome.Refused(error!.ToRefusal()));

    /// <summary>The caller scheme's step: the outcome is left in <c>HttpContext.Features</c> for policies and handlers.</summary>
    async ValueTask<CallerAuthenticationOutcome> ICallerCredentialAuthenticator.AuthenticateAsync(HttpContext context, string credential, CancellationToken cancellationToken)
    {
        var result = await AuthenticateSecretAsync(context, credential);
        if (!result.TryGet(out var caller, out var error))
        {
            return CallerAuthenticationOutcome.Refused(error.ToRefusal());
        }

        context.Features.Set(new AuthenticatedCaller(caller, result.Person));
        return CallerAuthenticationOutcome.Success();
    }

    private async Task<AuthenticationResult> AuthenticateSecretAsync(HttpContext context, string secret)
    {
        if (JwtShape.IsJwt(secret))
        {
            return await AuthenticateJwtAsync(context, secret);
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

    private async Task<AuthenticationResult> AuthenticateJwtAsync(HttpContext context, string token)
    {
        // The authentication middleware may have validated it already (a JwtBearer scheme that is the default).
        var validation = context.Features.Get<JwtCaller>() is { } validated
            ? JwtValidation.Success(validated)
            : await jwt.ValidateAsync(token, context.RequestAborted);
        if (validation.Caller is not { } person)
        {
            return new(null, validation.Rejection switch
            {
                JwtRejection.Invalid => ApiError.Authentication("The credential is not valid."),
                JwtRejection.Unavailable => ApiError.Unavailable(validation.Message, TimeSpan.FromSeconds(5)),
                _ when validation.Status == StatusCodes.Status403Forbidden => ApiError.Permission(validation.Message),
                _ => ApiError.Authentication(validation.Message),
            });
        }

        var projection = UserCredential.For(person, userLimits);
        var credential = new Credential
        {
            Id = projection.Id,
            Hash = "",
            Kind = CredentialKind.User,
            Hint = projection.Hint,
            Owner = projection.Owner,
            Scope = new CredentialScope(CredentialScope.Everything, CredentialScope.Everything, userLimits),
            CreatedAt = time.GetUtcNow(),
            CreatedBy = "jwt:" + person.IssuerName,
            // Not the token's exp: a person's authority does not end with a (minutes-long) access token, so what they
            // mint is bounded by the usual maximum ttl, not by the session that minted it.
            ExpiresAt = null,
        };
        return new(credential, null, person);
    }
}

/// <summary>The caller the caller scheme authenticated (a feature of the request; a class, as features must be).</summary>
public sealed record AuthenticatedCaller(Credential Credential, JwtCaller? Person)
{
    public static AuthenticatedCaller Of(HttpContext context) =>
        context.Features.Get<AuthenticatedCaller>() ?? throw new InvalidOperationException("The route's policy did not run the caller scheme.");
}

public readonly record struct AuthenticationResult(Credential? Credential, ApiError? Error, JwtCaller? Person = null)
{
    public bool TryGet([NotNullWhen(true)] out Credential? credential, [NotNullWhen(false)] out ApiError? error)
    {
        credential = Credential;
        error = Error;
        return credential is not null;
    }
}
