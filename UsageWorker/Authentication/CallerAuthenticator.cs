using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
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

    private readonly IConnectionMultiplexer _redis;
    private readonly HttpClient _tokenService;
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
        JwtCallerValidator? jwt = null)
    {
        _jwt = jwt;
        _redis = redis;
        _tokenService = tokenService;
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

    /// <summary>The projection, null when the credential is unknown; throws when neither Redis nor TokenService answers.</summary>
    private async Task<CredentialProjection?> ResolveAsync(string hash, CancellationToken ct)
    {
        string? redisFailure = null;
        try
        {
            var json = await _redis.GetDatabase().StringGetAsync(RedisKeys.Credential(hash)).ConfigureAwait(false);
            if (json.HasValue)
            {
                return CredentialProjectionJson.Read((byte[])json!);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException)
        {
            redisFailure = ex.Message;
        }

        try
        {
            using var response = await _tokenService.PostAsJsonAsync("/internal/introspect", new { hash }, ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new CredentialLookupException($"TokenService introspection answered {(int)response.StatusCode}" + Suffix(redisFailure));
            }

            return CredentialProjectionJson.Normalize(
                await response.Content.ReadFromJsonAsync(CredentialProjectionJson.TypeInfo, ct).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new CredentialLookupException("TokenService introspection failed: " + ex.Message + Suffix(redisFailure));
        }
    }

    private static string Suffix(string? redisFailure) => redisFailure is null ? "" : "; Redis: " + redisFailure;

    private sealed class CredentialLookupException(string message) : Exception(message);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Could not verify credential {Credential}: {Reason}")]
    private static partial void LogLookupFailed(ILogger logger, string credential, string reason);
}
