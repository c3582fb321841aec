using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;

namespace LlmGateway.UpstreamSimulator.Streaming;

/// <summary>
/// Renders a <see cref="ReplyPlan"/> as an Anthropic <c>Message</c> (wire doc §1) or as its SSE stream (§2):
/// <c>message_start</c> (usage with the cache fields), per block <c>content_block_start</c> / deltas /
/// <c>content_block_stop</c> (thinking, then text, then tool_use), one <c>ping</c> after the first block start,
/// <c>message_delta</c> with the stop reason and cumulative usage, <c>message_stop</c>.
/// </summary>
internal static class AnthropicReplyWriter
{
    public static async Task WriteMessageAsync(SimExchange exchange, ReplyPlan plan)
    {
        await exchange.BeforeContentAsync();
        var writer = exchange.BeginJson();
        writer.WriteStartObject();
        writer.WriteString("id"u8, IdGenerator.MessageId());
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("model"u8, plan.Model);
        writer.WriteStartArray("content"u8);
        if (plan.Thinking is not null)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "thinking"u8);
            writer.WriteString("thinking"u8, plan.Thinking);
            writer.WriteString("signature"u8, plan.ThinkingSignature);
            writer.WriteEndObject();
        }

        if (plan.HasText)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "text"u8);
            plan.WriteText(writer, "text"u8, 0, plan.WordCount);
            writer.WriteEndObject();
        }

        if (plan.ToolName is not null)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, plan.ToolId);
            writer.WriteString("name"u8, plan.ToolName);
            writer.WritePropertyName("input"u8);
            writer.WriteRawValue(plan.ToolInputJson!, skipInputValidation: true);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteStop(writer, plan);
        WriteUsage(writer, plan, plan.OutputTokens, detailed: true);
        writer.WriteEndObject();
        await exchange.SendJsonAsync();
    }

    public static async Task StreamMessageAsync(SimExchange exchange, ReplyPlan plan)
    {
        await exchange.StartStreamAsync();

        var writer = exchange.BeginEvent("message_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_start"u8);
        writer.WriteStartObject("message"u8);
        writer.WriteString("id"u8, IdGenerator.MessageId());
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("model"u8, plan.Model);
        writer.WriteStartArray("content"u8);
        writer.WriteEndArray();
        writer.WriteNull("stop_reason"u8);
        writer.WriteNull("stop_sequence"u8);
        WriteUsage(writer, plan, Math.Min(1, plan.OutputTokens), detailed: true);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await exchange.SendEventAsync();

        await exchange.BeforeContentAsync();
        var index = 0;
        var pinged = false;
        if (plan.Thinking is not null)
        {
            writer = BeginBlock(exchange, index);
            writer.WriteString("type"u8, "thinking"u8);
            writer.WriteString("thinking"u8, ""u8);
            await EndIndexedAsync(exchange, writer);
            pinged = await PingOnceAsync(exchange, pinged);

            writer = BeginDelta(exchange, index);
            writer.WriteString("type"u8, "thinking_delta"u8);
            writer.WriteString("thinking"u8, plan.Thinking);
            await EndIndexedAsync(exchange, writer);

            writer = BeginDelta(exchange, index);
            writer.WriteString("type"u8, "signature_delta"u8);
            writer.WriteString("signature"u8, plan.ThinkingSignature);
            await EndIndexedAsync(exchange, writer);

            await BlockStopAsync(exchange, index++);
        }

        if (plan.HasText)
        {
            writer = BeginBlock(exchange, index);
            writer.WriteString("type"u8, "text"u8);
            writer.WriteString("text"u8, ""u8);
            await EndIndexedAsync(exchange, writer);
            pinged = await PingOnceAsync(exchange, pinged);

            for (var word = 0; word < plan.WordCount; word += plan.WordsPerDelta)
            {
                writer = BeginDelta(exchange, index);
                writer.WriteString("type"u8, "text_delta"u8);
                plan.WriteText(writer, "text"u8, word, Math.Min(plan.WordsPerDelta, plan.WordCount - word));
                await EndIndexedAsync(exchange, writer);
            }

            await BlockStopAsync(exchange, index++);
        }

        if (plan.ToolName is not null)
        {
            writer = BeginBlock(exchange, index);
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, plan.ToolId);
            writer.WriteString("name"u8, plan.ToolName);
            writer.WriteStartObject("input"u8);
            writer.WriteEndObject();
            await EndIndexedAsync(exchange, writer);
            pinged = await PingOnceAsync(exchange, pinged);

            writer = BeginDelta(exchange, index);
            writer.WriteString("type"u8, "input_json_delta"u8);
            writer.WriteString("partial_json"u8, ""u8);
            await EndIndexedAsync(exchange, writer);
            foreach (var fragment in plan.ToolInputFragments())
            {
                writer = BeginDelta(exchange, index);
                writer.WriteString("type"u8, "input_json_delta"u8);
                writer.WriteString("partial_json"u8, fragment);
                await EndIndexedAsync(exchange, writer);
            }

            await BlockStopAsync(exchange, index);
        }

        await PingOnceAsync(exchange, pinged);

        writer = exchange.BeginEvent("message_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_delta"u8);
        writer.WriteStartObject("delta"u8);
        WriteStop(writer, plan);
        writer.WriteEndObject();
        WriteUsage(writer, plan, plan.OutputTokens, detailed: false);
        writer.WriteEndObject();
        await exchange.SendEventAsync();

        writer = exchange.BeginEvent("message_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_stop"u8);
        writer.WriteEndObject();
        await exchange.SendEventAsync();
    }

    public static string StopReasonText(StopReason reason) => reason switch
    {
        StopReason.MaxTokens => "max_tokens",
        StopReason.StopSequence => "stop_sequence",
        StopReason.ToolUse => "tool_use",
        _ => "end_turn",
    };

    private static void WriteStop(Utf8JsonWriter writer, ReplyPlan plan)
    {
        writer.WriteString("stop_reason"u8, StopReasonText(plan.StopReason));
        if (plan.StopSequence is null)
        {
            writer.WriteNull("stop_sequence"u8);
        }
        else
        {
            writer.WriteString("stop_sequence"u8, plan.StopSequence);
        }
    }

    /// <summary>Usage; <paramref name="detailed"/> adds the <c>cache_creation</c> breakdown and service tier (message objects).</summary>
    private static void WriteUsage(Utf8JsonWriter writer, ReplyPlan plan, int outputTokens, bool detailed)
    {
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("input_tokens"u8, plan.InputTokens);
        writer.WriteNumber("cache_creation_input_tokens"u8, plan.CacheCreationTokens);
        writer.WriteNumber("cache_read_input_tokens"u8, plan.CacheReadTokens);
        if (detailed)
        {
            writer.WriteStartObject("cache_creation"u8);
            writer.WriteNumber("ephemeral_5m_input_tokens"u8, plan.CacheCreationTokens);
            writer.WriteNumber("ephemeral_1h_input_tokens"u8, 0);
            writer.WriteEndObject();
        }

        writer.WriteNumber("output_tokens"u8, outputTokens);
        if (detailed)
        {
            writer.WriteString("service_tier"u8, "standard"u8);
        }

        writer.WriteEndObject();
    }

    private static Utf8JsonWriter BeginBlock(SimExchange exchange, int index) =>
        BeginIndexed(exchange, "content_block_start"u8, index, "content_block"u8);

    private static Utf8JsonWriter BeginDelta(SimExchange exchange, int index) =>
        BeginIndexed(exchange, "content_block_delta"u8, index, "delta"u8);

    /// <summary><c>{"type":…,"index":…,"{inner}":{</c> of a block event; <see cref="EndIndexedAsync"/> closes and sends it.</summary>
    private static Utf8JsonWriter BeginIndexed(SimExchange exchange, ReadOnlySpan<byte> type, int index, ReadOnlySpan<byte> inner)
    {
        var writer = exchange.BeginEvent(type);
        writer.WriteStartObject();
        writer.WriteString("type"u8, type);
        writer.WriteNumber("index"u8, index);
        writer.WriteStartObject(inner);
        return writer;
    }

    private static ValueTask EndIndexedAsync(SimExchange exchange, Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        writer.WriteEndObject();
        return exchange.SendEventAsync();
    }

    private static ValueTask BlockStopAsync(SimExchange exchange, int index)
    {
        var writer = exchange.BeginEvent("content_block_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_stop"u8);
        writer.WriteNumber("index"u8, index);
        writer.WriteEndObject();
        return exchange.SendEventAsync();
    }

    private static async ValueTask<bool> PingOnceAsync(SimExchange exchange, bool alreadyPinged)
    {
        if (!alreadyPinged)
        {
            var writer = exchange.BeginEvent("ping"u8);
            writer.WriteStartObject();
            writer.WriteString("type"u8, "ping"u8);
            writer.WriteEndObject();
            await exchange.SendEventAsync();
        }

        return true;
    }
}
