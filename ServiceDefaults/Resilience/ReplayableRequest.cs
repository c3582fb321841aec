using System.Net.Http.Json;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// Lets one logical request be sent several times. An <see cref="HttpRequestMessage"/> is not meant to be sent
/// twice (inner handlers add headers such as <c>traceparent</c>, service discovery rewrites the URI), so each
/// attempt gets a fresh copy of the caller's untouched message. Content is shared between the copies: content
/// that serialises the same way every time is used as is; anything else (a stream) is buffered once, and only
/// when a retry is possible at all.
/// </summary>
internal static class ReplayableRequest
{
    public static async ValueTask PrepareContentAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is { } content && !CanReplay(content))
        {
            await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A copy of <paramref name="request"/> for one attempt. The copy shares the content; do not dispose it.</summary>
    public static HttpRequestMessage CreateAttempt(HttpRequestMessage request)
    {
        var attempt = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
            Content = request.Content,
        };

        foreach (var header in request.Headers.NonValidated)
        {
            attempt.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        var options = (IDictionary<string, object?>)attempt.Options;
        foreach (var option in request.Options)
        {
            options[option.Key] = option.Value;
        }

        return attempt;
    }

    internal static bool CanReplay(HttpContent content) => content switch
    {
        // StringContent and FormUrlEncodedContent derive from ByteArrayContent.
        ByteArrayContent or ReadOnlyMemoryContent or JsonContent => true,
        MultipartContent multipart => multipart.All(CanReplay),
        _ => false,
    };
}
