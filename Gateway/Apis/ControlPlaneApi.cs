using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// Control-plane routes clients call on the gateway's public address, handed to their owners:
/// <c>/v1/tokens</c>, <c>/bootstrap</c>, <c>/refresh</c>, <c>/admin/*</c>, the accounts' <c>/api/auth/*</c> and
/// <c>/api/keys/*</c>, the upstream OAuth accounts' <c>/api/claude/*</c> and the JWT issuer's <c>/.well-known/openid-configuration</c> and <c>/.well-known/jwks.json</c>
/// → TokenService, except
/// <c>/admin/usage*</c> and <c>/admin/stats*</c> → UsageWorker. <c>/internal/*</c> is never reachable from outside.
/// </summary>
internal static class ControlPlaneApi
{
    public static IEndpointRouteBuilder MapControlPlaneApi(this IEndpointRouteBuilder routes)
    {
        var forwarder = routes.ServiceProvider.GetRequiredService<ControlPlaneForwarder>();
        RequestDelegate toTokenService = context => forwarder.ForwardAsync(context, ControlPlaneService.TokenService);

        routes.Map("/v1/tokens", toTokenService);
        routes.Map("/v1/tokens/{**rest}", toTokenService);
        routes.Map("/bootstrap", toTokenService);
        routes.Map("/refresh", toTokenService);
        routes.Map("/api/auth/{**rest}", toTokenService);
        routes.Map("/api/keys/{**rest}", toTokenService);
        routes.Map("/api/claude/{**rest}", toTokenService);
        routes.Map("/.well-known/openid-configuration", toTokenService);
        routes.Map("/.well-known/jwks.json", toTokenService);
        routes.Map("/admin", toTokenService);
        routes.Map("/admin/{**rest}", context => forwarder.ForwardAsync(context, OwnerOfAdminPath(context.Request.Path)));
        routes.Map("/internal/{**rest}", static context => AnthropicErrors.WriteAsync(context, StatusCodes.Status404NotFound,
            AnthropicErrors.NotFound, "Not found: " + context.Request.Method + " " + context.Request.Path, RequestIds.Of(context)));
        return routes;
    }

    internal static ControlPlaneService OwnerOfAdminPath(PathString path)
    {
        var rest = path.Value.AsSpan("/admin/".Length);
        return rest.StartsWith("usage", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("stats", StringComparison.OrdinalIgnoreCase)
            ? ControlPlaneService.UsageWorker
            : ControlPlaneService.TokenService;
    }
}
