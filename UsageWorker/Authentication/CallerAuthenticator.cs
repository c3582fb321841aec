using System.Security.Cryptography;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.Identity.Credentials;
using LlmGateway.UsageWorker.Model;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Authentication;

/// <summary>The outcome of authenticating a caller: a scope, or an error to return as is.</summary>
internal readonly record struct CallerAuthentication(UsageScope? Scope, int Status, string ErrorType, string Message)
{
    public static CallerAuthentication Allowed(UsageScope scope) => new(scope, 200, "", "");

    public static CallerAuthentication Denied(int status, string type, string message) => new(null, status, type, message);
}

/// <summary>
/// Authenticates callers of the usage API the way the Gateway does, without PostgreSQL: the credential (by the
/// header rule every service shares, <see cref="CallerCredentialHeaders"/>) is hashed; the bootstrap admin key from configuration is compared
/// by hash in constant time; otherwise the projection is read from Redis (<see cref="RedisKeys.Credential"/>) and, when
/// Redis misses or is down, from TokenService's introspection (<c>POST /internal/introspect {"hash"}</c>). A JWT of a
/// configured issuer is validated instead: an admin sees everything, a viewer or member their organization's usage (their
/// own, when the token names no organization).
/// </summary>
internal sealed partial class CallerAuthenticator : ICallerCredentialAuthenticator
{
    private static readonly CallerRefusal MissingRefusal =
        CallerRefusal.Unauthenticated("No credential: send it in the x-api-key header or as Authorization: Bearer.");

    /// <summary>Longer than any credential the system issues or accepts; refused without any lookup.</summary>
    private const int MaxCredentialLength = 512;

    /// <summary>How long either source may take before the caller gets a 503 (the introspection client's own timeout).</summary>
    private static readonly TimeSpan SourceTimeout = TimeSpan.FromSeconds(10);

    private readonly RedisCredentialStore _store;
    private readonly TokenServiceIntrospection _introspection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly byte[]? _bootstrapKeyHash;
    private readonly JwtCallerValidator? _jwt;

    public CallerAuthenticator(
        IConnectionMultiplexer redis,
        HttpClient tokenService,
        IOptions<AdminOptions> admin,
        TimeProvider time,
        ILogger<CallerAuthenticator> logger,
        ILoggerFactory loggers,
        JwtCallerValidator? jwt = null)
    {
        _jwt = jwt;
        _store = new RedisCredentialStore(redis, SourceTimeout, loggers.CreateLogger<RedisCredentialStore>());
        _introspection = new TokenServiceIntrospection(() => tokenService, SourceTimeout, loggers.CreateLogger<TokenServiceIntrospection>());
        _time = time;
        _logger = logger;
        _bootstrapKeyHash = string.IsNullOrEmpty(admin.Value.BootstrapKey)
            ? null
            : Convert.FromHexString(CredentialFormat.Hash(admin.Value.BootstrapKey));
    }

    public async Task<CallerAuthentication> AuthenticateAsync(HttpRequest request, CancellationToken ct)
    {
        var presence = CallerCredentialHeaders.ReadString(request.Headers, out var credential);
        if (presence == CallerCredentialPresence.Conflicting)
        {
            return CallerAuthentication.Denied(401, "authentication_error", CallerCredentialHeaders.ConflictingMessage);
        }

        if (presence == CallerCredentialPresence.Unreadable)
        {
            return CallerAuthentication.Denied(401, "authentication_error", CallerCredentialHeaders.UnreadableMessage);
        }

        if (credential is null)
        {
            return CallerAuthentication.Denied(MissingRefusal.Status, MissingRefusal.ErrorType, MissingRefusal.Message);
        }

        return await AuthenticateCredentialAsync(request.HttpContext, credential, ct).ConfigureAwait(false);
    }

    CallerRefusal ICallerCredentialAuthenticator.Missing => MissingRefusal;

    /// <summary>The caller scheme's step: the scope is left in <c>HttpContext.Features</c> for the usage API's handlers.</summary>
    async ValueTask<CallerAuthenticationOutcome> ICallerCredentialAuthenticator.AuthenticateAsync(HttpContext context, string credential, CancellationToken ct)
    {
        var result = await AuthenticateCredentialAsync(context, credential, ct).ConfigureAwait(false);
        if (result.Scope is not { } scope)
        {
            return CallerAuthenticationOutcome.Refused(new CallerRefusal(result.Status, result.ErrorType, result.Message));
        }

        context.Features.Set(scope);
        return CallerAuthenticationOutcome.Success();
    }

    private async Task<CallerAuthentication> AuthenticateCredentialAsync(HttpContext context, string credential, CancellationToken ct)
    {
        if (JwtShape.IsJwt(credential))
        {
            return await AuthenticateJwtAsync(context, credential, ct).ConfigureAwait(false);
        }

        if (credential.Length > MaxCredentialLength)
        {
            return CallerAuthentication.Denied(401, "authentication_error", "Invalid credential.");
        }

        var hash = CredentialFormat.Hash(credential);
        if (_bootstrapKeyHash is not null && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(hash), _bootstrapKeyHash))
        {
            return CallerAuthentication.Allowed(UsageScope.Admin);
        }

        CredentialProjection? projection;
        try
        {
            projection = await ResolveAsync(hash, ct).ConfigureAwait(false);
        }
        catch (CredentialLookupException ex)
        {
            LogLookupFailed(_logger, CredentialFormat.Redact(credential), ex.Message);
            return CallerAuthentication.Denied(503, "api_error", "The credential cannot be verified right now; retry shortly.");
        }

        if (projection is null || projection.IsExpired(_time.GetUtcNow()))
        {
            return CallerAuthentication.Denied(401, "authentication_error", "Invalid credential.");
        }

        return CallerAuthentication.Allowed(projection.Kind switch
        {
            CredentialKind.AdminKey => UsageScope.Admin,
            CredentialKind.DeviceToken when !string.IsNullOrEmpty(projection.DeviceId) => new UsageScope(false, DeviceId: projection.DeviceId),
            _ => new UsageScope(false, CredentialId: projection.Id),
        });
    }

    private async Task<CallerAuthentication> AuthenticateJwtAsync(HttpContext context, string token, CancellationToken ct)
    {
        // The authentication middleware may have validated it already (a JwtBearer scheme that is the default).
        var validation = context.Features.Get<JwtCaller>() is { } validated
            ? JwtValidation.Success(validated)
            : _jwt is null
                ? JwtValidation.Refused(JwtRejection.Invalid)
                : await _jwt.ValidateAsync(token, ct).ConfigureAwait(false);
        if (validation.Caller is not { } person)
        {
            return validation.Rejection switch
            {
                JwtRejection.Invalid => CallerAuthentication.Denied(401, "authentication_error", "Invalid credential."),
                JwtRejection.Unavailable => CallerAuthentication.Denied(503, "api_error", validation.Message),
                _ => CallerAuthentication.Denied(validation.Status, validation.Status == 403 ? "permission_error" : "authentication_error", validation.Message),
            };
        }

        return CallerAuthentication.Allowed(person.HasRole(IdentityRoles.Admin)
            ? UsageScope.Admin
            : person.OrganizationId is { } organization
                ? new UsageScope(false, OrganizationId: organization)
                : new UsageScope(false, OwnerId: person.UserId));
    }

    /// <summary>
    /// The projection, null when the credential is unknown; throws when no source answers. The same two sources as the
    /// Gateway's (<see cref="RedisCredentialStore"/>, then <see cref="TokenServiceIntrospection"/>); the rule differs on
    /// one case: Redis up without the credential and TokenService down is a 503 here (an admin reading usage retries),
    /// a 401 on the Gateway's hot path (almost always a wrong key, and a 503 would invite SDK retries).
    /// </summary>
    private async Task<CredentialProjection?> ResolveAsync(string hash, CancellationToken ct)
    {
        var found = await _store.FindAsync(hash).WaitAsync(ct).ConfigureAwait(false);
        if (found.Status != CredentialLookupStatus.Found)
        {
            found = await _introspection.FindAsync(hash).WaitAsync(ct).ConfigureAwait(false);
        }

        return found.Status switch
        {
            CredentialLookupStatus.Found => found.Projection,
            CredentialLookupStatus.NotFound => null,
            _ => throw new CredentialLookupException("neither Redis nor TokenService's introspection answered"),
        };
    }

    private sealed class CredentialLookupException(string message) : Exception(message);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Could not verify credential {Credential}: {Reason}")]
    private static partial void LogLookupFailed(ILogger logger, string credential, string reason);
}
