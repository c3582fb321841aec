namespace LlmGateway.Gateway.Translation;

/// <summary>
/// Endpoint metadata: the route answers in OpenAI's format — always (<see cref="Always"/>), or for the requests a
/// predicate picks (an OpenAI client on <c>/v1/models</c>). Read where an answer is written before the route's handler
/// runs (the caller scheme's refusals).
/// </summary>
internal sealed class OpenAiShape(Func<HttpRequest, bool>? appliesTo = null)
{
    public static readonly OpenAiShape Always = new();

    public bool AppliesTo(HttpRequest request) => appliesTo?.Invoke(request) ?? true;
}
