using System.Globalization;
using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;
using LlmGateway.UpstreamSimulator.Streaming;

namespace LlmGateway.UpstreamSimulator.Apis;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>, shared by both providers' clients. The shape follows the
/// credential style: a request with <c>anthropic-version</c> or <c>x-api-key</c> gets the Anthropic page
/// (<c>data</c>, <c>has_more</c>, <c>first_id</c>, <c>last_id</c>; wire doc §4) and must carry <c>anthropic-version</c>;
/// a request with only <c>Authorization: Bearer</c> gets the OpenAI list (<c>object: list</c>; wire doc §6).
/// </summary>
internal static class ModelsApi
{
    private const int DefaultLimit = 20;
    private const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/models", ListModels);
        routes.MapGet("/v1/models/{modelId}", GetModel);
        return routes;
    }

    private static ApiFlavor FlavorOf(HttpRequest request) =>
        request.Headers.ContainsKey("anthropic-version") || request.Headers.ContainsKey("x-api-key")
            || !request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? ApiFlavor.Anthropic
            : ApiFlavor.OpenAi;

    private static Task ListModels(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, FlavorOf(context.Request), static async exchange =>
        {
            var isAnthropic = exchange.Flavor == ApiFlavor.Anthropic;
            if (!await exchange.PrepareAsync(requireAnthropicVersion: isAnthropic))
            {
                return;
            }

            var models = exchange.Models.All;
            if (!isAnthropic)
            {
                var list = exchange.BeginJson();
                list.WriteStartObject();
                list.WriteString("object"u8, "list"u8);
                list.WriteStartArray("data"u8);
                foreach (var model in models)
                {
                    WriteOpenAiModel(list, model);
                }

                list.WriteEndArray();
                list.WriteEndObject();
                await exchange.SendJsonAsync();
                return;
            }

            var query = exchange.Context.Request.Query;
            var limit = DefaultLimit;
            if (query.TryGetValue("limit", out var limitText)
                && (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, $"limit: Input should be an integer between 1 and {MaxLimit}");
                return;
            }

            var afterId = query["after_id"].ToString();
            var beforeId = query["before_id"].ToString();
            if (afterId.Length > 0 && beforeId.Length > 0)
            {
                await exchange.WriteErrorAsync(ErrorKind.InvalidRequest, "Cannot specify both before_id and after_id");
                return;
            }

            int start, end;
            bool hasMore;
            if (beforeId.Length > 0)
            {
                end = exchange.Models.IndexOf(beforeId);
                end = end < 0 ? 0 : end;
                start = Math.Max(0, end - limit);
                hasMore = start > 0;
            }
            else
            {
                var after = afterId.Length > 0 ? exchange.Models.IndexOf(afterId) : -1;
                start = afterId.Length > 0 && after < 0 ? models.Count : after + 1;
                end = Math.Min(models.Count, start + limit);
                hasMore = end < models.Count;
            }

            var writer = exchange.BeginJson();
            writer.WriteStartObject();
            writer.WriteStartArray("data"u8);
            for (var i = start; i < end; i++)
            {
                WriteAnthropicModel(writer, models[i]);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("has_more"u8, hasMore);
            if (end > start)
            {
                writer.WriteString("first_id"u8, models[start].Id);
                writer.WriteString("last_id"u8, models[end - 1].Id);
            }
            else
            {
                writer.WriteNull("first_id"u8);
                writer.WriteNull("last_id"u8);
            }

            writer.WriteEndObject();
            await exchange.SendJsonAsync();
        });

    private static Task GetModel(HttpContext context, SimulatorState state) =>
        SimExchange.RunAsync(context, state, FlavorOf(context.Request), static async exchange =>
        {
            var isAnthropic = exchange.Flavor == ApiFlavor.Anthropic;
            if (!await exchange.PrepareAsync(requireAnthropicVersion: isAnthropic))
            {
                return;
            }

            var id = exchange.Context.Request.RouteValues["modelId"] as string ?? "";
            if (!exchange.Models.TryFind(id, out var model))
            {
                if (isAnthropic)
                {
                    await exchange.WriteErrorAsync(ErrorKind.NotFound, $"model: {id}");
                }
                else
                {
                    await exchange.WriteErrorAsync(ErrorKind.NotFound, $"The model '{id}' does not exist", "model", "model_not_found");
                }

                return;
            }

            var writer = exchange.BeginJson();
            if (isAnthropic)
            {
                WriteAnthropicModel(writer, model);
            }
            else
            {
                WriteOpenAiModel(writer, model);
            }

            await exchange.SendJsonAsync();
        });

    private static void WriteAnthropicModel(Utf8JsonWriter writer, ModelEntry model)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "model"u8);
        writer.WriteString("id"u8, model.Id);
        writer.WriteString("display_name"u8, model.DisplayName);
        writer.WriteString("created_at"u8, model.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        writer.WriteNumber("max_input_tokens"u8, model.MaxInputTokens);
        writer.WriteNumber("max_tokens"u8, model.MaxTokens);
        writer.WriteEndObject();
    }

    private static void WriteOpenAiModel(Utf8JsonWriter writer, ModelEntry model)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, model.Id);
        writer.WriteString("object"u8, "model"u8);
        writer.WriteNumber("created"u8, model.CreatedAt.ToUnixTimeSeconds());
        writer.WriteString("owned_by"u8, "anthropic"u8);
        writer.WriteEndObject();
    }
}
