using System.Runtime.ExceptionServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmGateway.Identity.Authentication;

/// <summary>
/// The caller scheme (<see cref="Name"/>): a gateway credential or a JWT of a configured issuer, read by the one header
/// rule (<see cref="CallerCredentialHeaders"/>) and resolved by the service's <see cref="ICallerCredentialAuthenticator"/>.
/// Endpoints name what they need with <c>.RequireAuthorization(policy)</c>; a challenge or a forbid is answered by the
/// service's <see cref="ICallerErrorWriter"/>, in the route's error shape and with the refusal's own words.
/// </summary>
public sealed class CallerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string Name = "caller";

    /// <summary>
    /// The service's lookup: for <see cref="Name"/> the <see cref="ICallerCredentialAuthenticator"/>; a service with a
    /// second kind of caller (TokenService's signed-in accounts) adds a scheme of its own name, whose lookup is the
    /// service keyed by that name.
    /// </summary>
    private ICallerCredentialAuthenticator Authenticator => Scheme.Name == Name
        ? Context.RequestServices.GetRequiredService<ICallerCredentialAuthenticator>()
        : Context.RequestServices.GetRequiredKeyedService<ICallerCredentialAuthenticator>(Scheme.Name);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        CallerAuthenticationOutcome outcome;
        try
        {
            outcome = await Authenticator.AuthenticateRequestAsync(Context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // AuthenticationHandler turns an exception into a failed result; kept here and rethrown by the challenge,
            // so a store outage still reaches the service's exception handler (a 503), not a 401.
            Context.Features.Set(ExceptionDispatchInfo.Capture(ex));
            return AuthenticateResult.Fail(ex);
        }

        if (outcome.Refusal is { } refusal)
        {
            Context.Features.Set(refusal);
            return AuthenticateResult.Fail(refusal.Message);
        }

        if (outcome.Claims is not { } claims)
        {
            return AuthenticateResult.NoResult();
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Name)), Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Context.Features.Get<ExceptionDispatchInfo>()?.Throw();
        var refusal = Context.Features.Get<CallerRefusal>() ?? Authenticator.Missing;
        return Context.RequestServices.GetRequiredService<ICallerErrorWriter>().WriteAsync(Context, refusal);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var refusal = Context.Features.Get<CallerRefusal>() is { Status: StatusCodes.Status403Forbidden } forbidden
            ? forbidden
            : CallerRefusal.Forbidden("This credential is not allowed to call this route.");
        return Context.RequestServices.GetRequiredService<ICallerErrorWriter>().WriteAsync(Context, refusal);
    }
}

/// <summary>Why a caller is refused: the status, the error type and the message the route's error shape carries.</summary>
public sealed record CallerRefusal(int Status, string ErrorType, string Message, TimeSpan? RetryAfter = null)
{
    public static CallerRefusal Unauthenticated(string message) => new(StatusCodes.Status401Unauthorized, "authentication_error", message);

    public static CallerRefusal Forbidden(string message) => new(StatusCodes.Status403Forbidden, "permission_error", message);

    public static CallerRefusal Unavailable(string message, TimeSpan? retryAfter = null) =>
        new(StatusCodes.Status503ServiceUnavailable, "api_error", message, retryAfter);
}

/// <summary>The outcome of resolving a credential: the caller's claims, or why it is refused (neither: no credential was sent).</summary>
public readonly record struct CallerAuthenticationOutcome(IEnumerable<Claim>? Claims, CallerRefusal? Refusal)
{
    public static readonly CallerAuthenticationOutcome NoCredential;

    public static CallerAuthenticationOutcome Success(params Claim[] claims) => new(claims, null);

    public static CallerAuthenticationOutcome Refused(CallerRefusal refusal) => new([], refusal);
}

/// <summary>A service's way of resolving a credential the header rule found (its store, its JWT rules).</summary>
public interface ICallerCredentialAuthenticator
{
    /// <summary>What the service says when no credential was sent.</summary>
    CallerRefusal Missing { get; }

    ValueTask<CallerAuthenticationOutcome> AuthenticateAsync(HttpContext context, string credential, CancellationToken cancellationToken);

    /// <summary>
    /// The scheme's step: the credential by the shared header rule (<see cref="CallerCredentialHeaders"/>), then
    /// <see cref="AuthenticateAsync(HttpContext, string, CancellationToken)"/>. A service whose hot path reads the
    /// credential without copying it, or words the header rule's refusals its own way, implements this instead.
    /// </summary>
    ValueTask<CallerAuthenticationOutcome> AuthenticateRequestAsync(HttpContext context) =>
        CallerCredentialHeaders.ReadString(context.Request.Headers, out var credential) switch
        {
            CallerCredentialPresence.Conflicting =>
                ValueTask.FromResult(CallerAuthenticationOutcome.Refused(CallerRefusal.Unauthenticated(CallerCredentialHeaders.ConflictingMessage))),
            CallerCredentialPresence.Unreadable =>
                ValueTask.FromResult(CallerAuthenticationOutcome.Refused(CallerRefusal.Unauthenticated(CallerCredentialHeaders.UnreadableMessage))),
            CallerCredentialPresence.Missing => ValueTask.FromResult(CallerAuthenticationOutcome.NoCredential),
            _ => AuthenticateAsync(context, credential!, context.RequestAborted),
        };
}

/// <summary>Writes a refusal in the service's (or the route's) error shape.</summary>
public interface ICallerErrorWriter
{
    Task WriteAsync(HttpContext context, CallerRefusal refusal);
}
