using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Translation;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// The OpenAI-compatible surface: <c>POST /v1/chat/completions</c> for Claude models, translated to the Messages API
/// and back (<c>Translation/</c>) through the same hot path as <c>/v1/messages</c>. Everything written for the request,
/// errors included, leaves in OpenAI's format.
/// </summary>
internal static class OpenAiApi
{
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.ServiceProvider.GetRequiredService<ModelRequestPipeline>();
        var api = routes.MapGroup("/v1");
        api.MapPost("/chat/completions", async context =>
        {
            var body = OpenAiResponseBody.Install(context);
            try
            {
                await models.HandleAsync(context, ModelRoute.ChatCompletions);
            }
            finally
            {
                await body.CompleteAsync();
            }
        });
        api.WithMetadata(OpenAiShape.Always).RequireAuthorization(CallerPolicies.ModelApi);
        return routes;
    }
}
