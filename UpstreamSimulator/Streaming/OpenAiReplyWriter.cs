using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;

namespace LlmGateway.UpstreamSimulator.Streaming;

/// <summary>
/// Renders a <see cref="ReplyPlan"/> as an OpenAI <c>chat.completion</c> or as its chunk stream (wire doc §6):
/// a role chunk, content (or tool-call) chunks, a chunk with <c>finish_reason</c>, with
/// <c>stream_options.include_usage</c> a usage chunk with empty <c>choices</c> (other chunks then carry
/// <c>"usage":null</c>), and <c>data: [DONE]</c>. A tool call is the whole reply (content null).
/// </summary>
internal static class OpenAiReplyWriter
{
    private static readonly ReadOnlyMemory<byte> Done = "data: [DONE]\n\n"u8.ToArray();
    private const string SystemFingerprint = "fp_sim";

    public static async Task WriteCompletionAsync(SimExchange exchange, ReplyPlan plan)
    {
        await exchange.BeforeContentAsync();
        var writer = exchange.BeginJson();
        writer.WriteStartObject();
        writer.WriteString("id"u8, IdGenerator.ChatCompletionId());
        writer.WriteString("object"u8, "chat.completion"u8);
        writer.WriteNumber("created"u8, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        writer.WriteString("model"u8, plan.Model);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        if (plan.ToolName is null)
        {
            plan.WriteText(writer, "content"u8, 0, plan.WordCount);
        }
        else
        {
            writer.WriteNull("content"u8);
            writer.WriteStartArray("tool_calls"u8);
            writer.WriteStartObject();
            writer.WriteString("id"u8, plan.ToolId);
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, plan.ToolName);
            writer.WriteString("arguments"u8, plan.ToolInputJson);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        writer.WriteNull("refusal"u8);
        writer.WriteStartArray("annotations"u8);
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        writer.WriteString("finish_reason"u8, FinishReason(plan.StopReason));
        writer.WriteEndObject();
        writer.WriteEndArray();
        WriteUsage(writer, plan);
        writer.WriteString("service_tier"u8, "default"u8);
        writer.WriteString("system_fingerprint"u8, SystemFingerprint);
        writer.WriteEndObject();
        await exchange.SendJsonAsync();
    }

    public static async Task StreamCompletionAsync(SimExchange exchange, ReplyPlan plan, bool includeUsage)
    {
        await exchange.StartStreamAsync();
        var chunk = new ChunkHeader(IdGenerator.ChatCompletionId(), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), plan.Model, includeUsage);

        var writer = chunk.BeginChoice(exchange);
        writer.WriteString("role"u8, "assistant"u8);
        if (plan.ToolName is null)
        {
            writer.WriteString("content"u8, ""u8);
        }
        else
        {
            writer.WriteNull("content"u8);
        }

        writer.WriteNull("refusal"u8);
        await chunk.EndChoiceAsync(exchange, writer, finishReason: null);

        await exchange.BeforeContentAsync();
        if (plan.ToolName is null)
        {
            for (var word = 0; word < plan.WordCount; word += plan.WordsPerDelta)
            {
                writer = chunk.BeginChoice(exchange);
                plan.WriteText(writer, "content"u8, word, Math.Min(plan.WordsPerDelta, plan.WordCount - word));
                await chunk.EndChoiceAsync(exchange, writer, finishReason: null);
            }
        }
        else
        {
            writer = chunk.BeginChoice(exchange);
            writer.WriteStartArray("tool_calls"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, 0);
            writer.WriteString("id"u8, plan.ToolId);
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, plan.ToolName);
            writer.WriteString("arguments"u8, ""u8);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            await chunk.EndChoiceAsync(exchange, writer, finishReason: null);

            foreach (var fragment in plan.ToolInputFragments())
            {
                writer = chunk.BeginChoice(exchange);
                writer.WriteStartArray("tool_calls"u8);
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, 0);
                writer.WriteStartObject("function"u8);
                writer.WriteString("arguments"u8, fragment);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
                await chunk.EndChoiceAsync(exchange, writer, finishReason: null);
            }
        }

        writer = chunk.BeginChoice(exchange);
        await chunk.EndChoiceAsync(exchange, writer, FinishReason(plan.StopReason));

        if (includeUsage)
        {
            writer = chunk.Begin(exchange);
            writer.WriteStartArray("choices"u8);
            writer.WriteEndArray();
            WriteUsage(writer, plan);
            writer.WriteEndObject();
            await exchange.SendEventAsync();
        }

        await exchange.SendLiteralEventAsync(Done);
    }

    public static string FinishReason(StopReason reason) => reason switch
    {
        StopReason.MaxTokens => "length",
        StopReason.ToolUse => "tool_calls",
        _ => "stop",
    };

    /// <summary>OpenAI usage: <c>prompt_tokens</c> includes the cached (read and written) tokens.</summary>
    private static void WriteUsage(Utf8JsonWriter writer, ReplyPlan plan)
    {
        var prompt = plan.InputTokens + plan.CacheReadTokens + plan.CacheCreationTokens;
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("prompt_tokens"u8, prompt);
        writer.WriteNumber("completion_tokens"u8, plan.OutputTokens);
        writer.WriteNumber("total_tokens"u8, prompt + plan.OutputTokens);
        writer.WriteStartObject("prompt_tokens_details"u8);
        writer.WriteNumber("cached_tokens"u8, plan.CacheReadTokens);
        if (plan.CacheCreationTokens > 0)
        {
            writer.WriteNumber("cache_write_tokens"u8, plan.CacheCreationTokens);
        }

        writer.WriteNumber("audio_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteStartObject("completion_tokens_details"u8);
        writer.WriteNumber("reasoning_tokens"u8, 0);
        writer.WriteNumber("audio_tokens"u8, 0);
        writer.WriteNumber("accepted_prediction_tokens"u8, 0);
        writer.WriteNumber("rejected_prediction_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The fields every chunk of one stream repeats.</summary>
    private readonly record struct ChunkHeader(string Id, long Created, string Model, bool IncludeUsage)
    {
        public Utf8JsonWriter Begin(SimExchange exchange)
        {
            var writer = exchange.BeginData();
            writer.WriteStartObject();
            writer.WriteString("id"u8, Id);
            writer.WriteString("object"u8, "chat.completion.chunk"u8);
            writer.WriteNumber("created"u8, Created);
            writer.WriteString("model"u8, Model);
            writer.WriteString("system_fingerprint"u8, SystemFingerprint);
            return writer;
        }

        public Utf8JsonWriter BeginChoice(SimExchange exchange)
        {
            var writer = Begin(exchange);
            writer.WriteStartArray("choices"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, 0);
            writer.WriteStartObject("delta"u8);
            return writer;
        }

        /// <summary>Closes delta, choice and choices: <c>…}, "logprobs": null, "finish_reason": …}], "usage": null}</c>.</summary>
        public ValueTask EndChoiceAsync(SimExchange exchange, Utf8JsonWriter writer, string? finishReason)
        {
            writer.WriteEndObject();
            writer.WritePropertyName("logprobs"u8);
            writer.WriteNullValue();
            writer.WritePropertyName("finish_reason"u8);
            JsonSerializer.Serialize(writer, finishReason);
            writer.WriteEndObject();
            writer.WriteEndArray();
            if (IncludeUsage)
            {
                // Every chunk carries "usage": null when the caller asked for usage; the last one carries the numbers.
                writer.WritePropertyName("usage"u8);
                writer.WriteNullValue();
            }

            writer.WriteEndObject();
            return exchange.SendEventAsync();
        }
    }
}
