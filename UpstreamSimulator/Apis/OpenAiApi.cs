using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;
using LlmGateway.UpstreamSimulator.Streaming;

namespace LlmGateway.UpstreamSimulator.Apis;

/// <summary>OpenAI route: <c>POST /v1/chat/completions</c> (Bearer authentication, OpenAI error shape).</summary>
internal static class OpenAiApi
{
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/chat/completions", CreateChatCompletion);
        return routes;
    }

    private static Task CreateChatCompletion(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, ApiFlavor.OpenAi, static async exchange =>
        {
            if (!await exchange.PrepareAsync(requireAnthropicVersion: false) || await exchange.ReadJsonAsync() is not JsonElement root)
            {
                return;
            }

            if (!OpenAiRequestReader.TryReadChat(root, out var request, out var error))
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, error.Message, error.Param, error.Code);
                return;
            }

            exchange.ReleaseBody();
            var plan = ReplyPlanner.Plan(request, exchange.Controls, exchange.Options, openAiIds: true);
            await (request.Stream
                ? OpenAiReplyWriter.StreamCompletionAsync(exchange, plan, request.IncludeUsage)
                : OpenAiReplyWriter.WriteCompletionAsync(exchange, plan));
        });
}
