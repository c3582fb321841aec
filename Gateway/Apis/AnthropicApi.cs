using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// The public Anthropic-compatible surface. Routes match on the path only; the query (e.g. <c>?beta=true</c>) is
/// forwarded as sent. Every <c>/v1/*</c> route is on the model API's caller policy; model routes run the full hot path,
/// every other one is forwarded transparently. Handlers are plain request delegates over singleton pipelines (no
/// per-request binding).
/// </summary>
internal static class AnthropicApi
{
    public static IEndpointRouteBuilder MapAnthropicApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.ServiceProvider.GetRequiredService<ModelRequestPipeline>();
        var passthrough = routes.ServiceProvider.GetRequiredService<PassthroughPipeline>();

        var api = routes.MapGroup("/v1");
        api.MapPost("/messages", context => models.HandleAsync(context, ModelRoute.Messages));
        api.MapPost("/messages/count_tokens", context => models.HandleAsync(context, ModelRoute.CountTokens));
        api.MapPost("/complete", context => models.HandleAsync(context, ModelRoute.Complete));
        api.Map("/{**rest}", passthrough.HandleAsync);
        api.RequireAuthorization(CallerPolicies.ModelApi);
        routes.MapModelsApi();

        // Claude Code probes the base URL with HEAD / before it starts.
        routes.MapMethods("/", [HttpMethods.Head, HttpMethods.Get], static context =>
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });

        return routes;
    }

    /// <summary>Anything no route claims gets Anthropic's 404 shape rather than an empty body.</summary>
    public static IEndpointRouteBuilder MapAnthropicNotFound(this IEndpointRouteBuilder routes)
    {
        routes.MapFallback(static context => AnthropicErrors.WriteAsync(context, StatusCodes.Status404NotFound,
            AnthropicErrors.NotFound, "Not found: " + context.Request.Method + " " + context.Request.Path, RequestIds.Of(context)));
        return routes;
    }
}
