using System.Collections.Frozen;
using System.Net.Http.Headers;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Which headers cross the gateway. Every end-to-end header passes unchanged (<c>anthropic-version</c>,
/// <c>anthropic-beta</c> and every other <c>anthropic-*</c>, <c>x-stainless-*</c>, <c>x-sim-*</c>, …: nothing is
/// allowlisted); hop-by-hop headers never do. On the model path the caller's credentials are replaced by the real
/// key; on the control-plane path they are kept, because the owning service authenticates the caller itself.
/// </summary>
internal static class HeaderPolicy
{
    // RFC 9110 §7.6.1 connection-specific fields, plus what HttpClient sets itself.
    private static readonly FrozenSet<string> HopByHop = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Proxy-Authorization", "Proxy-Authenticate", "Host", "Content-Length", "Expect", "HTTP2-Settings",
        ":method", ":path", ":scheme", ":authority", ":status");

    // Not sent to the model provider: the caller's credentials and cookies (the real key replaces them), forwarding
    // details about the caller, content codings the usage reader could not read, and the caller's trace context
    // (the gateway's own is sent only with Upstream:PropagateTraceContext).
    private static readonly FrozenSet<string> NotSentUpstream = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "x-api-key", "Authorization", "Cookie", "Accept-Encoding",
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "X-Real-IP",
        "traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context");

    private static readonly FrozenSet<string> NotSentToControlPlane = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id", "traceparent", "tracestate", "baggage", "Request-Id",
        "Correlation-Context");

    // Response headers the gateway owns: its own request-id, and no provider cookies for the gateway's callers.
    private static readonly FrozenSet<string> NotReturnedFromUpstream = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "request-id", "Set-Cookie");

    public const string RequestIdHeader = RequestIds.Header;
    public const string UpstreamRequestIdHeader = "upstream-request-id";

    /// <summary>Copies the caller's headers to a request for the model provider and adds the real key.</summary>
    public static void CopyToUpstream(IHeaderDictionary source, HttpRequestMessage destination, string? apiKey) =>
        CopyToUpstream(source, destination, apiKey, "x-api-key", "");

    /// <summary>Copies the caller's headers and adds the real key in the target's own header (<c>x-api-key</c>, <c>Authorization: Bearer</c>, …).</summary>
    public static void CopyToUpstream(IHeaderDictionary source, HttpRequestMessage destination, string? apiKey, string authHeader, string authScheme)
    {
        var connectionTokens = source[HeaderNames.Connection];
        foreach (var (name, values) in source)
        {
            if (HopByHop.Contains(name) || NotSentUpstream.Contains(name) || IsListedIn(connectionTokens, name))
            {
                continue;
            }

            Add(destination, name, values);
        }

        AddUpstreamKey(destination, apiKey, authHeader, authScheme);
    }

    /// <summary>The real key, in the target's own header and scheme (nothing when the target has no key).</summary>
    public static void AddUpstreamKey(HttpRequestMessage destination, string? apiKey, string authHeader, string authScheme)
    {
        if (!string.IsNullOrEmpty(apiKey))
        {
            destination.Headers.TryAddWithoutValidation(authHeader, authScheme.Length == 0 ? apiKey : authScheme + apiKey);
        }
    }

    /// <summary>
    /// Copies the caller's headers, credentials included, to a request for a control-plane service and records
    /// where the call came from.
    /// </summary>
    public static void CopyToControlPlane(HttpContext context, HttpRequestMessage destination, string requestId)
    {
        var source = context.Request.Headers;
        var connectionTokens = source[HeaderNames.Connection];
        string? forwardedFor = null;
        foreach (var (name, values) in source)
        {
            if (HopByHop.Contains(name) || NotSentToControlPlane.Contains(name) || IsListedIn(connectionTokens, name))
            {
                continue;
            }

            if (string.Equals(name, "X-Forwarded-For", StringComparison.OrdinalIgnoreCase))
            {
                forwardedFor = values.ToString();
                continue;
            }

            Add(destination, name, values);
        }

        var remote = context.Connection.RemoteIpAddress?.ToString();
        var chain = string.IsNullOrEmpty(forwardedFor) ? remote : remote is null ? forwardedFor : forwardedFor + ", " + remote;
        if (!string.IsNullOrEmpty(chain))
        {
            destination.Headers.TryAddWithoutValidation("X-Forwarded-For", chain);
        }

        destination.Headers.TryAddWithoutValidation("X-Forwarded-Proto", context.Request.Scheme);
        if (context.Request.Host.HasValue)
        {
            destination.Headers.TryAddWithoutValidation("X-Forwarded-Host", context.Request.Host.Value);
        }

        destination.Headers.TryAddWithoutValidation(RequestIds.Header, requestId);
    }

    /// <summary>Copies status-independent response headers back to the caller.</summary>
    public static void CopyToClient(HttpResponseMessage source, HttpResponse destination, bool fromModelProvider)
    {
        var headers = destination.Headers;
        var connectionTokens = source.Headers.NonValidated.TryGetValues(HeaderNames.Connection, out var connection)
            ? new StringValues(connection.ToString())
            : StringValues.Empty;

        foreach (var header in source.Headers.NonValidated)
        {
            CopyOne(header.Key, header.Value, headers, connectionTokens, fromModelProvider);
        }

        foreach (var header in source.Content.Headers.NonValidated)
        {
            CopyOne(header.Key, header.Value, headers, connectionTokens, fromModelProvider);
        }

        if (source.Content.Headers.ContentLength is { } length)
        {
            destination.ContentLength = length;
        }

        if (fromModelProvider && source.Headers.NonValidated.TryGetValues(RequestIdHeader, out var upstreamRequestId))
        {
            headers[UpstreamRequestIdHeader] = upstreamRequestId.ToString();
        }
    }

    private static void CopyOne(string name, HeaderStringValues values, IHeaderDictionary destination, StringValues connectionTokens, bool fromModelProvider)
    {
        if (HopByHop.Contains(name) || IsListedIn(connectionTokens, name)
            || (fromModelProvider && NotReturnedFromUpstream.Contains(name)))
        {
            return;
        }

        if (values.Count == 1)
        {
            destination.Append(name, values.ToString());
            return;
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }

        destination.Append(name, array);
    }

    private static void Add(HttpRequestMessage destination, string name, StringValues values)
    {
        var isContent = name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase);
        HttpHeaders target = isContent && destination.Content is not null ? destination.Content.Headers : destination.Headers;
        if (isContent && destination.Content is null)
        {
            // No body, so no content headers to carry.
            return;
        }

        if (values.Count == 1)
        {
            target.TryAddWithoutValidation(name, values[0]);
        }
        else if (values.Count > 1)
        {
            target.TryAddWithoutValidation(name, values.ToArray());
        }
    }

    private static bool IsListedIn(StringValues connectionTokens, string name)
    {
        if (connectionTokens.Count == 0)
        {
            return false;
        }

        foreach (var value in connectionTokens)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var token = value.AsSpan()[range].Trim();
                if (token.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
