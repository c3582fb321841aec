using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// The public Anthropic-compatible surface. Routes match on the path only; the query (e.g. <c>?beta=true</c>) is
/// forwarded as sent. Model routes run the full hot path; every other <c>/v1/*</c> route is forwarded transparently
/// after authentication. Handlers are plain request delegates over singleton pipelines (no per-request binding).
/// </summary>
internal static class AnthropicApi
{
    public static IEndpointRouteBuilder MapAnthropicApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.ServiceProvider.GetRequiredService<ModelRequestPipeline>();
        var passthrough = routes.ServiceProvider.GetRequiredService<PassthroughPipeline>();

        routes.MapPost("/v1/messages", context => models.HandleAsync(context, ModelRoute.Messages));
        routes.MapPost("/v1/messages/count_tokens", context => models.HandleAsync(context, ModelRoute.CountTokens));
        routes.MapPost("/v1/complete", context => models.HandleAsync(context, ModelRoute.Complete));
        routes.MapModelsApi();
        routes.Map("/v1/{**rest}", passthrough.HandleAsync);

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
