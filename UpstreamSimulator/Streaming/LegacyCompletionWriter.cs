using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;

namespace LlmGateway.UpstreamSimulator.Streaming;

/// <summary>
/// Renders a <see cref="ReplyPlan"/> as a legacy Text Completion (wire doc §4): a <c>completion</c> object, or a
/// stream of <c>event: completion</c> frames (one per delta, a <c>ping</c> after the first, a last frame with an empty
/// completion and the stop reason).
/// </summary>
internal static class LegacyCompletionWriter
{
    private const string HumanStop = "\n\nHuman:";

    public static async Task WriteCompletionAsync(SimExchange exchange, ReplyPlan plan)
    {
        await exchange.BeforeContentAsync();
        var writer = exchange.BeginJson();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "completion"u8);
        writer.WriteString("id"u8, IdGenerator.CompletionId());
        plan.WriteText(writer, "completion"u8, 0, plan.WordCount, leadingSpace: true);
        WriteStop(writer, plan);
        writer.WriteString("model"u8, plan.Model);
        writer.WriteEndObject();
        await exchange.SendJsonAsync();
    }

    public static async Task StreamCompletionAsync(SimExchange exchange, ReplyPlan plan)
    {
        await exchange.StartStreamAsync();
        await exchange.BeforeContentAsync();
        var id = IdGenerator.CompletionId();
        var pinged = false;
        for (var word = 0; word < plan.WordCount; word += plan.WordsPerDelta)
        {
            var writer = Begin(exchange, id);
            plan.WriteText(writer, "completion"u8, word, Math.Min(plan.WordsPerDelta, plan.WordCount - word), leadingSpace: true);
            writer.WriteNull("stop_reason"u8);
            writer.WriteString("model"u8, plan.Model);
            writer.WriteNull("stop"u8);
            writer.WriteEndObject();
            await exchange.SendEventAsync();
            if (!pinged)
            {
                pinged = true;
                writer = exchange.BeginEvent("ping"u8);
                writer.WriteStartObject();
                writer.WriteString("type"u8, "ping"u8);
                writer.WriteEndObject();
                await exchange.SendEventAsync();
            }
        }

        var last = Begin(exchange, id);
        last.WriteString("completion"u8, ""u8);
        WriteStop(last, plan);
        last.WriteString("model"u8, plan.Model);
        last.WriteEndObject();
        await exchange.SendEventAsync();
    }

    private static Utf8JsonWriter Begin(SimExchange exchange, string id)
    {
        var writer = exchange.BeginEvent("completion"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "completion"u8);
        writer.WriteString("id"u8, id);
        return writer;
    }

    private static void WriteStop(Utf8JsonWriter writer, ReplyPlan plan)
    {
        if (plan.StopReason == StopReason.MaxTokens)
        {
            writer.WriteString("stop_reason"u8, "max_tokens"u8);
            writer.WriteNull("stop"u8);
        }
        else
        {
            writer.WriteString("stop_reason"u8, "stop_sequence"u8);
            writer.WriteString("stop"u8, plan.StopSequence ?? HumanStop);
        }
    }
}
