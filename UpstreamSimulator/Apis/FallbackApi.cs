using LlmGateway.UpstreamSimulator.Streaming;

namespace LlmGateway.UpstreamSimulator.Apis;

/// <summary>Any other route: 404 <c>not_found_error</c> in Anthropic's shape, like the real API.</summary>
internal static class FallbackApi
{
    public static IEndpointRouteBuilder MapNotFoundFallback(this IEndpointRouteBuilder routes)
    {
        routes.MapFallback(NotFound);
        return routes;
    }

    private static Task NotFound(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, ApiFlavor.Anthropic, static exchange =>
            exchange.WriteErrorAsync(ErrorKind.NotFound, "Not found").AsTask());
}
