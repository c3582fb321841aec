using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// <c>POST /internal/introspect</c> <c>{"hash":"&lt;sha256 hex&gt;"}</c>: the Gateway's fallback when Redis misses or is down.
/// 200 with the <see cref="CredentialProjection"/> of an active credential; 404 (<c>error.type</c> <c>not_found</c>) for an
/// unknown, revoked or expired one. Internal only: the Gateway never forwards <c>/internal/*</c>, and every
/// <c>/internal/*</c> route answers only a caller that presents the services' internal key (<see cref="InternalApi"/>);
/// anyone else gets the same 404 as an unknown route.
/// </summary>
public static class IntrospectionApi
{
    public static IEndpointRouteBuilder MapIntrospectionApi(this IEndpointRouteBuilder app)
    {
        var configured = app.ServiceProvider.GetRequiredService<IConfiguration>()[InternalApi.ConfigurationKey];
        var internalRoutes = app.MapGroup("/internal").AddEndpointFilter(async (context, next) =>
            InternalApi.IsValid(configured, context.HttpContext.Request.Headers[InternalApi.HeaderName])
                ? await next(context)
                : ApiError.ForStatus(StatusCodes.Status404NotFound, context.HttpContext.Request));
        internalRoutes.MapPost("/introspect", Introspect);
        return app;
    }

    public static async Task<Results<Ok<CredentialProjection>, ApiError>> Introspect(
        JsonBody<IntrospectRequest> body, CredentialStore store, BootstrapAdminKey bootstrapAdmin, TimeProvider time, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var hash = request.Hash?.ToLowerInvariant();
        if (hash is null || hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower))
        {
            return ApiError.InvalidRequest("hash must be the lower-case hex SHA-256 of the credential (64 characters).");
        }

        var now = time.GetUtcNow();
        if (bootstrapAdmin.Matches(hash))
        {
            return TypedResults.Ok(bootstrapAdmin.ToCredential(now).ToProjection());
        }

        var credential = await store.FindByHashAsync(hash, http.RequestAborted);
        return credential?.StatusAt(now) switch
        {
            null => ApiError.IntrospectionNotFound("Unknown credential."),
            CredentialStatus.Active => TypedResults.Ok(credential.ToProjection()),
            // A refreshed device token (past its grace period) names its successor: said as such, so the caller knows
            // to use the new token rather than to ask for a new one.
            _ when credential.ReplacedBy is not null =>
                ApiError.IntrospectionNotFound("The credential was replaced by a refresh.", IntrospectionRefusals.Replaced),
            CredentialStatus.Revoked => ApiError.IntrospectionNotFound("The credential has been revoked.", IntrospectionRefusals.Revoked),
            _ => ApiError.IntrospectionNotFound("The credential has expired.", IntrospectionRefusals.Expired),
        };
    }
}
