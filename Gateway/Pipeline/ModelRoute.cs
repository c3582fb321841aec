namespace LlmGateway.Gateway.Pipeline;

/// <summary>The routes whose body names a model: the gateway reads it, checks it against the allowlist and meters the answer.</summary>
internal sealed class ModelRoute
{
    public static readonly ModelRoute Messages = new("/v1/messages", "chat", meteredTokens: true, "max_tokens"u8.ToArray());
    public static readonly ModelRoute CountTokens = new("/v1/messages/count_tokens", "count_tokens", meteredTokens: false, []);
    public static readonly ModelRoute Complete = new("/v1/complete", "text_completion", meteredTokens: true, "max_tokens_to_sample"u8.ToArray());

    private ModelRoute(string path, string operation, bool meteredTokens, byte[] maxTokensField)
    {
        Path = path;
        Operation = operation;
        MeteredTokens = meteredTokens;
        MaxTokensField = maxTokensField;
    }

    /// <summary>
    /// The body field that bounds the output on this route, exactly as the upstream reads it (UTF-8); admission
    /// reserves from it. Empty when the route produces no output.
    /// </summary>
    public byte[] MaxTokensField { get; }

    /// <summary>The upstream path (the caller's query string is appended) and the route of usage events.</summary>
    public string Path { get; }

    /// <summary><c>gen_ai.operation.name</c>.</summary>
    public string Operation { get; }

    /// <summary>
    /// Whether the response's usage is consumption. count_tokens answers with a count but consumes nothing.
    /// </summary>
    public bool MeteredTokens { get; }
}
