using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;
using LlmGateway.UpstreamSimulator.Streaming;

namespace LlmGateway.UpstreamSimulator.Apis;

/// <summary>
/// Anthropic routes: <c>POST /v1/messages</c>, <c>POST /v1/messages/count_tokens</c>, legacy <c>POST /v1/complete</c>.
/// Handlers write their own bytes (JSON or SSE) through <see cref="SimExchange"/> instead of returning typed results:
/// the simulator's point is exact control over every byte and every flush.
/// </summary>
internal static class AnthropicApi
{
    public static IEndpointRouteBuilder MapAnthropicApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/messages", CreateMessage);
        routes.MapPost("/v1/messages/count_tokens", CountTokens);
        routes.MapPost("/v1/complete", CreateCompletion);
        return routes;
    }

    private static Task CreateMessage(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, ApiFlavor.Anthropic, static async exchange =>
        {
            if (!await exchange.PrepareAsync(requireAnthropicVersion: true) || await exchange.ReadJsonAsync() is not JsonElement root)
            {
                return;
            }

            if (!AnthropicRequestReader.TryReadMessages(root, countTokensOnly: false, out var request, out var error))
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, error!);
                return;
            }

            exchange.ReleaseBody();
            var plan = ReplyPlanner.Plan(request, exchange.Controls, exchange.Options);
            await (request.Stream
                ? AnthropicReplyWriter.StreamMessageAsync(exchange, plan)
                : AnthropicReplyWriter.WriteMessageAsync(exchange, plan));
        });

    private static Task CountTokens(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, ApiFlavor.Anthropic, static async exchange =>
        {
            if (!await exchange.PrepareAsync(requireAnthropicVersion: true) || await exchange.ReadJsonAsync() is not JsonElement root)
            {
                return;
            }

            if (!AnthropicRequestReader.TryReadMessages(root, countTokensOnly: true, out var request, out var error))
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, error!);
                return;
            }

            exchange.ReleaseBody();
            var writer = exchange.BeginJson();
            writer.WriteStartObject();
            writer.WriteNumber("input_tokens"u8, request.InputTokens);
            writer.WriteEndObject();
            await exchange.SendJsonAsync();
        });

    private static Task CreateCompletion(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, ApiFlavor.Anthropic, static async exchange =>
        {
            if (!await exchange.PrepareAsync(requireAnthropicVersion: true) || await exchange.ReadJsonAsync() is not JsonElement root)
            {
                return;
            }

            if (!LegacyCompleteRequestReader.TryRead(root, out var request, out var error))
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, error!);
                return;
            }

            exchange.ReleaseBody();
            var plan = ReplyPlanner.Plan(request, exchange.Controls, exchange.Options);
            await (request.Stream
                ? LegacyCompletionWriter.StreamCompletionAsync(exchange, plan)
                : LegacyCompletionWriter.WriteCompletionAsync(exchange, plan));
        });
}
