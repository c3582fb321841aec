using Microsoft.Net.Http.Headers;

namespace LlmGateway.Gateway.Requests;

/// <summary>Whether a request says its body is JSON (<c>application/json</c> or <c>…+json</c>, any charset parameter).</summary>
internal static class JsonMediaType
{
    public static bool Is(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    public const string Required = "The request body must be JSON: send it with 'content-type: application/json'.";
}
