using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// Zero-config device tokens (seed 002): <c>POST /bootstrap</c> with a device id gets a token under the configured
/// policy; <c>POST /refresh</c> swaps a still-valid device token for a new one. Both are off unless
/// <c>Bootstrap:Enabled</c>; bootstrap has its own per-client-address rate limit.
/// </summary>
public static partial class DeviceApi
{
    public const string BootstrapRateLimitPolicy = "bootstrap";

    /// <summary><c>POST /refresh</c>: any active credential on the caller scheme; the handler refuses what is not a device token.</summary>
    public const string RefreshPolicy = "refresh";

    public static IEndpointRouteBuilder MapDeviceApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/bootstrap", Bootstrap).RequireRateLimiting(BootstrapRateLimitPolicy);
        app.MapPost("/refresh", Refresh).RequireAuthorization(RefreshPolicy);
        return app;
    }

    public static async Task<Results<Ok<DeviceTokenResponse>, ApiError>> Bootstrap(
        JsonBody<BootstrapRequest> body, [AsParameters] DeviceApiServices services, HttpContext http)
    {
        var options = services.Options.Value;
        if (!options.Enabled)
        {
            return Disabled();
        }

        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if ((InputRules.Identifier(request.DeviceId, "device_id") ?? InputRules.Label(request.AppVersion, "app_version", 64)) is { } invalid)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var now = Timestamps.NowWholeSeconds(services.Time);
        var secret = CredentialFormat.Generate(CredentialKind.DeviceToken);
        var token = NewDeviceToken(secret, request.DeviceId!, request.AppVersion, options, now, "bootstrap");
        // A device has no credential yet: the actor is the device id it claims, from the caller's address.
        await services.Store.IssueDeviceTokenAsync(token, new AuditRecord(
            Timestamps.NowMicroseconds(services.Time), "device:" + token.DeviceId, null, "credential.bootstrap", token.Id, CallerCredential.Address(http),
            new { kind = CredentialKindNames.Of(CredentialKind.DeviceToken), hint = token.Hint, device_id = token.DeviceId, app_version = token.AppVersion, expires_at = token.ExpiresAt }));
        services.Metrics.Issued(CredentialKind.DeviceToken, "bootstrap");
        LogBootstrapped(services.Logger, token.Id, token.Hint, token.DeviceId!, CallerCredential.Address(http));
        return TypedResults.Ok(new DeviceTokenResponse(secret, ProxyBaseUrl(http, options), token.ExpiresAt!.Value));
    }

    public static async Task<Results<Ok<DeviceTokenResponse>, ApiError>> Refresh(
        JsonBody<RefreshRequest> body, [AsParameters] DeviceApiServices services, HttpContext http)
    {
        var options = services.Options.Value;
        if (!options.Enabled)
        {
            return Disabled();
        }

        var current = AuthenticatedCaller.Of(http).Credential;
        if (current.Kind != CredentialKind.DeviceToken)
        {
            return ApiError.Permission($"Only device tokens can be refreshed; {current.Hint} is not one (agent tokens are minted with POST /v1/tokens).");
        }

        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (InputRules.Label(request.AppVersion, "app_version", 64) is { } invalid)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var now = Timestamps.NowWholeSeconds(services.Time);
        var secret = CredentialFormat.Generate(CredentialKind.DeviceToken);
        var outcome = await services.Store.RefreshDeviceTokenAsync(
            current.Id,
            // The current bootstrap policy applies from the refresh on, so a changed policy reaches every device within one ttl.
            old => NewDeviceToken(secret, old.DeviceId!, request.AppVersion ?? old.AppVersion, options, now, "refresh") with { Owner = old.Owner },
            options.RefreshGracePeriodValue,
            replacement => new AuditRecord(
                Timestamps.NowMicroseconds(services.Time), current.Id, current.Hint, "credential.refresh", replacement.Id, CallerCredential.Address(http),
                new { kind = CredentialKindNames.Of(CredentialKind.DeviceToken), hint = replacement.Hint, replaces = current.Id, device_id = replacement.DeviceId, expires_at = replacement.ExpiresAt }));
        switch (outcome.Result)
        {
            case RefreshResult.Inactive:
                return ApiError.Authentication($"The token {current.Hint} is no longer valid; bootstrap again.");
            case RefreshResult.AlreadyRefreshed:
                return ApiError.Authentication($"The token {current.Hint} was already refreshed; use the token that refresh returned, or bootstrap again.");
        }

        var replacement = outcome.Replacement!;
        services.Metrics.Issued(CredentialKind.DeviceToken, "refresh");
        LogRefreshed(services.Logger, current.Id, replacement.Id, replacement.Hint, replacement.DeviceId!);
        return TypedResults.Ok(new DeviceTokenResponse(secret, ProxyBaseUrl(http, options), replacement.ExpiresAt!.Value));
    }

    private static Credential NewDeviceToken(string secret, string deviceId, string? appVersion, BootstrapOptions options, DateTimeOffset now, string createdBy) => new()
    {
        Id = Credential.NewId(),
        Hash = CredentialFormat.Hash(secret),
        Kind = CredentialKind.DeviceToken,
        Hint = CredentialFormat.Redact(secret),
        Owner = new CredentialOwner { Type = "device", Id = deviceId },
        DeviceId = deviceId,
        AppVersion = appVersion,
        Scope = options.Scope,
        CreatedAt = now,
        CreatedBy = createdBy,
        ExpiresAt = now + options.TtlValue,
    };

    private static ApiError Disabled() =>
        ApiError.NotFound("Device bootstrap is not enabled on this gateway (the operator enables it with Bootstrap:Enabled).");

    /// <summary>The gateway's public address: configured, else what the client called (as the Gateway forwarded it).</summary>
    private static string ProxyBaseUrl(HttpContext http, BootstrapOptions options)
    {
        if (options.ProxyBaseUrl is { Length: > 0 } configured)
        {
            return configured.TrimEnd('/');
        }

        var headers = http.Request.Headers;
        var forwardedScheme = headers["X-Forwarded-Proto"].LastOrDefault();
        var scheme = forwardedScheme is "https" or "http" ? forwardedScheme : http.Request.Scheme;
        var host = headers["X-Forwarded-Host"].LastOrDefault() is { Length: > 0 } forwardedHost ? forwardedHost : http.Request.Host.Value;
        return $"{scheme}://{host}";
    }

    [LoggerMessage(EventId = 2141, Level = LogLevel.Information, Message = "Bootstrapped device {DeviceId}: token {CredentialId} ({Hint}) for client {ClientAddress}")]
    private static partial void LogBootstrapped(ILogger logger, string credentialId, string hint, string deviceId, string clientAddress);

    [LoggerMessage(EventId = 2142, Level = LogLevel.Information, Message = "Refreshed device {DeviceId}: {OldCredentialId} replaced by {CredentialId} ({Hint})")]
    private static partial void LogRefreshed(ILogger logger, string oldCredentialId, string credentialId, string hint, string deviceId);
}

public sealed record DeviceApiServices(
    CredentialStore Store,
    IOptions<BootstrapOptions> Options,
    TokenServiceMetrics Metrics,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    public ILogger Logger { get; } = LoggerFactory.CreateLogger(typeof(DeviceApi).FullName!);
}
