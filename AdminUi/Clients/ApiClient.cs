using System.Net.Http.Json;
using System.Text.Json;
using Polly.Timeout;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// What the typed clients share: send a request to the gateway's address, turn the answer into a value or an
/// <see cref="ApiProblem"/>. Nothing here throws for an API that refuses, fails or cannot be reached: pages show
/// problems as messages.
/// </summary>
public abstract partial class ApiClient(HttpClient http, ILogger logger, string service)
{
    protected HttpClient Http { get; } = http;

    protected Task<ApiResult<T>> GetAsync<T>(string path, CancellationToken ct) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Get, path), ct);

    protected Task<ApiResult<T>> SendJsonAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct) =>
        SendAsync<T>(new HttpRequestMessage(method, path)
        {
            Content = body is null ? null : JsonContent.Create(body, body.GetType(), options: ApiJson.Options),
        }, ct);

    /// <summary>Sends a request and reads a JSON answer of any 2xx status.</summary>
    protected async Task<ApiResult<T>> SendAsync<T>(HttpRequestMessage request, CancellationToken ct, Func<HttpResponseMessage, bool>? accept = null)
    {
        using (request)
        {
            var sent = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            if (!sent.Ok)
            {
                return sent.Problem;
            }

            using var response = sent.Value;
            try
            {
                if (!(accept?.Invoke(response) ?? response.IsSuccessStatusCode))
                {
                    return await ProblemOfAsync(response, request, ct);
                }

                var value = await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, ct);
                return value is null ? Unreadable(request, response, "empty answer") : new ApiResult<T>(value, null);
            }
            catch (JsonException ex)
            {
                return Unreadable(request, response, ex.Message);
            }
        }
    }

    /// <summary>Sends a request whose answer has nothing the page needs beyond its success.</summary>
    protected async Task<ApiResult<bool>> SendWithoutAnswerAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using (request)
        {
            var sent = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            if (!sent.Ok)
            {
                return sent.Problem;
            }

            using var response = sent.Value;
            return response.IsSuccessStatusCode ? new ApiResult<bool>(true, null) : await ProblemOfAsync(response, request, ct);
        }
    }

    /// <summary>
    /// Sends a request and returns the response itself when it succeeded (the caller disposes it, e.g. after
    /// streaming its body), or the problem.
    /// </summary>
    protected async Task<ApiResult<HttpResponseMessage>> SendStreamingAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var sent = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!sent.Ok)
        {
            request.Dispose();
            return sent.Problem;
        }

        if (sent.Value.IsSuccessStatusCode)
        {
            return sent;
        }

        using var response = sent.Value;
        using (request)
        {
            return await ProblemOfAsync(response, request, ct);
        }
    }

    private async Task<ApiResult<HttpResponseMessage>> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        try
        {
            return new ApiResult<HttpResponseMessage>(await Http.SendAsync(request, completion, ct), null);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or TimeoutRejectedException or TaskCanceledException or IOException)
        {
            var timedOut = ex is TimeoutRejectedException or TaskCanceledException;
            var reason = timedOut ? "no answer in time" : ex.GetBaseException().Message;
            LogUnreachable(logger, service, request.Method.Method, PathOf(request), reason);
            var where = Http.BaseAddress is { } address ? $" at {address.GetLeftPart(UriPartial.Authority)}" : "";
            return new ApiProblem(service, null, null, timedOut
                ? $"The gateway{where} did not answer in time. Try again in a moment."
                : $"The gateway{where} could not be reached ({reason}). Check that it is running.", null);
        }
    }

    /// <summary>The API's error body (<c>{"type":"error","error":{"type","message"},"request_id"}</c>) as a problem.</summary>
    private async Task<ApiProblem> ProblemOfAsync(HttpResponseMessage response, HttpRequestMessage request, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        string? type = null, message = null, requestId = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (text.Length > 0 && text.TrimStart().StartsWith('{'))
            {
                using var body = JsonDocument.Parse(text);
                var root = body.RootElement;
                if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                {
                    type = Text(error, "type");
                    message = Text(error, "message");
                }

                requestId = Text(root, "request_id");
            }
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            // Not the APIs' error shape (a proxy's page, a cut body): the status says enough.
        }

        requestId ??= response.Headers.TryGetValues("request-id", out var ids) ? ids.FirstOrDefault() : null;
        message ??= $"{(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        if (status >= 500)
        {
            LogFailed(logger, service, request.Method.Method, PathOf(request), status, requestId ?? "-");
        }
        else
        {
            LogRefused(logger, service, request.Method.Method, PathOf(request), status, type ?? "-");
        }

        return new ApiProblem(service, status, type, message, requestId);
    }

    private ApiProblem Unreadable(HttpRequestMessage request, HttpResponseMessage response, string reason)
    {
        LogUnreadable(logger, service, request.Method.Method, PathOf(request), reason);
        return new ApiProblem(service, (int)response.StatusCode, null, "The answer could not be read; the gateway may be a different version than this UI.",
            response.Headers.TryGetValues("request-id", out var ids) ? ids.FirstOrDefault() : null);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The path without the query: filters are not secret, but a log line needs no more.</summary>
    private static string PathOf(HttpRequestMessage request) =>
        request.RequestUri is { } uri ? (uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString.Split('?')[0]) : "/";

    [LoggerMessage(2101, LogLevel.Warning, "{Service} {Method} {Path}: no answer ({Reason})")]
    private static partial void LogUnreachable(ILogger logger, string service, string method, string path, string reason);

    [LoggerMessage(2102, LogLevel.Warning, "{Service} {Method} {Path} failed with {Status} (request {RequestId})")]
    private static partial void LogFailed(ILogger logger, string service, string method, string path, int status, string requestId);

    [LoggerMessage(2103, LogLevel.Information, "{Service} {Method} {Path} refused with {Status} {ErrorType}")]
    private static partial void LogRefused(ILogger logger, string service, string method, string path, int status, string errorType);

    [LoggerMessage(2104, LogLevel.Warning, "{Service} {Method} {Path}: answer not readable ({Reason})")]
    private static partial void LogUnreadable(ILogger logger, string service, string method, string path, string reason);

    /// <summary>A query string of the given parameters; null and empty values are left out.</summary>
    protected static string Query(string path, IEnumerable<KeyValuePair<string, string?>> parameters)
    {
        var pairs = parameters.Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return pairs.Count == 0 ? path : path + "?" + string.Join('&', pairs);
    }

    protected static string Segment(string value) => Uri.EscapeDataString(value);
}
