using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Translation;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>
/// Step <i>read</i>: the body is read once and becomes the Messages request the upstream receives (a Chat Completions
/// body translated, a configured alias resolved); model, stream and max_tokens are picked from it. Only a body the
/// gateway can read is forwarded: it must check the model and reserve from max_tokens.
/// </summary>
internal sealed class ModelRequestReader(
    ChatCompletionsTranslation chatCompletions,
    ModelNameTable modelNames,
    UpstreamRouter router,
    IOptions<GatewayOptions> options)
{
    private readonly int _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public static Rejection? CheckMediaType(HttpRequest request) =>
        JsonMediaType.Is(request.ContentType)
            ? null
            : new Rejection(StatusCodes.Status415UnsupportedMediaType, AnthropicErrors.InvalidRequest, JsonMediaType.Required);

    public ValueTask<(BodyReadStatus Status, PooledBody? Body)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken) =>
        RequestBodyReader.ReadAsync(request, _maxBodyBytes, cancellationToken);

    /// <summary>Takes ownership of <paramref name="body"/> (the exchange releases it) and reads the request from it.</summary>
    public Rejection? Read(HttpContext context, ModelExchange exchange, BodyReadStatus read, PooledBody? body)
    {
        exchange.Body = body;
        if (read == BodyReadStatus.TooLarge)
        {
            return Rejection.TooLarge(_maxBodyBytes);
        }

        if (read == BodyReadStatus.Malformed)
        {
            return Rejection.Malformed;
        }

        if (exchange.Route.TranslatesChatCompletions)
        {
            // From here on the request is a Messages request (model, stream and max_tokens as the upstream reads them).
            var translated = chatCompletions.TranslateRequest(context, body!, out var translationError);
            if (translated is null)
            {
                return new Rejection(400, AnthropicErrors.InvalidRequest, translationError!);
            }

            body!.Dispose();
            exchange.Body = body = translated;
        }

        var parseError = ModelRequestParser.TryParse(body!.Span, exchange.Route.MaxTokensField, modelNames, out var request);
        if (parseError != ModelRequestError.None)
        {
            return new Rejection(400, AnthropicErrors.InvalidRequest, ModelRequestParser.Describe(parseError));
        }

        // A configured alias (Routing:Aliases) is resolved first: the allowlist, routing, the upstream and usage see the real id.
        if (router.ResolveAlias(request.Model) is var resolved && !ReferenceEquals(resolved, request.Model)
            && ModelAlias.Rewrite(body.Span, resolved) is { } rewritten)
        {
            body.Dispose();
            exchange.Body = rewritten;
            request = request with { Model = resolved };
        }

        exchange.Model = request.Model;
        exchange.Stream = request.Stream;
        exchange.MaxTokens = request.MaxTokens;
        return null;
    }
}
