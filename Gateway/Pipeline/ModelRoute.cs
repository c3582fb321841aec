namespace LlmGateway.Gateway.Pipeline;

/// <summary>The routes whose body names a model: the gateway reads it, checks it against the allowlist and meters the answer.</summary>
internal sealed class ModelRoute
{
    public static readonly ModelRoute Messages = new("/v1/messages", "chat", meteredTokens: true, "max_tokens"u8.ToArray(), translatesToOpenAi: true);
    public static readonly ModelRoute CountTokens = new("/v1/messages/count_tokens", "count_tokens", meteredTokens: false, []);
    public static readonly ModelRoute Complete = new("/v1/complete", "text_completion", meteredTokens: true, "max_tokens_to_sample"u8.ToArray());

    /// <summary>
    /// OpenAI Chat Completions for a Claude model: the body is translated to a Messages request (whose
    /// <c>max_tokens</c> the translation always sets) and sent to <c>/v1/messages</c>; the answer is translated back.
    /// </summary>
    public static readonly ModelRoute ChatCompletions = new("/v1/chat/completions", "chat", meteredTokens: true, "max_tokens"u8.ToArray(),
        upstreamPath: "/v1/messages", translatesChatCompletions: true, translatesToOpenAi: true);

    private ModelRoute(string path, string operation, bool meteredTokens, byte[] maxTokensField, string? upstreamPath = null,
        bool translatesChatCompletions = false, bool translatesToOpenAi = false)
    {
        TranslatesToOpenAi = translatesToOpenAi;
        Path = path;
        Operation = operation;
        MeteredTokens = meteredTokens;
        MaxTokensField = maxTokensField;
        UpstreamPath = upstreamPath ?? path;
        TranslatesChatCompletions = translatesChatCompletions;
    }

    /// <summary>Where the request goes upstream: <see cref="Path"/>, except for a translated route.</summary>
    public string UpstreamPath { get; }

    /// <summary>
    /// The caller speaks OpenAI Chat Completions (<c>Translation/ChatCompletionsTranslation</c>): the body is
    /// translated before it is read, and the caller's query string is not forwarded (it belongs to the other API).
    /// </summary>
    public bool TranslatesChatCompletions { get; }

    /// <summary>
    /// The upstream request is a Messages request an OpenAI-compatible upstream can serve as Chat Completions
    /// (<c>Translation/OpenAiUpstream</c>). A Chat Completions caller of such an upstream goes through the Messages
    /// form both ways: one translation path, at the cost of what Messages cannot express (the request translator
    /// refuses it with a 400).
    /// </summary>
    public bool TranslatesToOpenAi { get; }

    /// <summary>
    /// The body field that bounds the output on this route, exactly as the upstream reads it (UTF-8); admission
    /// reserves from it. Empty when the route produces no output.
    /// </summary>
    public byte[] MaxTokensField { get; }

    /// <summary>The caller's route: of usage events, admission and the route allowlist.</summary>
    public string Path { get; }

    /// <summary><c>gen_ai.operation.name</c>.</summary>
    public string Operation { get; }

    /// <summary>
    /// Whether the response's usage is consumption. count_tokens answers with a count but consumes nothing.
    /// </summary>
    public bool MeteredTokens { get; }
}
