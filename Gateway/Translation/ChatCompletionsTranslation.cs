using System.Buffers;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Requests;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// The request half of <c>POST /v1/chat/completions</c> for an Anthropic upstream, as the model pipeline calls it once
/// the caller is authenticated and the body read: the OpenAI body becomes the Messages body the upstream gets (and the
/// pipeline reads model, stream and max_tokens from, so admission reserves exactly what the upstream may produce), and
/// the response body installed by <see cref="OpenAiResponseBody.Install"/> learns what to translate back.
/// </summary>
internal sealed class ChatCompletionsTranslation(IOptions<LimitOptions> limits)
{
    private const string AnthropicVersion = "2023-06-01";

    private readonly int _defaultMaxTokens = Math.Max(1, limits.Value.DefaultMaxTokens);

    /// <summary>
    /// The Messages body to forward, or null with the caller's mistake in <paramref name="error"/> (answered as a 400;
    /// its parameter reaches the OpenAI error through the response body).
    /// </summary>
    public PooledBody? TranslateRequest(HttpContext context, PooledBody body, out string? error)
    {
        var responseBody = context.Features.Get<OpenAiResponseBody>();
        if (!System.Text.Unicode.Utf8.IsValid(body.Span) || JsonText.HasUnpairedSurrogateEscape(body.Span))
        {
            error = ModelRequestParser.Describe(ModelRequestError.InvalidText);
            return null;
        }

        var output = new ArrayBufferWriter<byte>(body.Length + 256);
        if (ChatCompletionsRequestTranslator.Translate(body.Memory, _defaultMaxTokens, output, out var request) is { } refused)
        {
            if (responseBody is not null)
            {
                responseBody.RequestError = refused;
            }

            error = refused.Message;
            return null;
        }

        if (responseBody is not null)
        {
            responseBody.Completion = request;
        }

        // The upstream requires the version header; OpenAI clients do not send one.
        var headers = context.Request.Headers;
        if (!headers.ContainsKey("anthropic-version"))
        {
            headers["anthropic-version"] = AnthropicVersion;
        }

        error = null;
        return PooledBody.CopyOf(output.WrittenSpan);
    }
}
