using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Forwarding;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>A model as the upstream describes it: its id and its JSON object, passed to callers unchanged.</summary>
internal sealed record UpstreamModel(string Id, byte[] Json);

/// <summary>Either the upstream's models, or its answer when listing failed (passed to the caller unmodified).</summary>
internal sealed record ModelListResult(IReadOnlyList<UpstreamModel>? Models, int Status, string? ContentType, byte[]? ErrorBody);

/// <summary>
/// The upstream's full model list (all pages of <c>GET /v1/models</c>), cached for a minute: <c>/v1/models</c> answers
/// from it, filtered to what each caller may use.
/// </summary>
internal sealed partial class UpstreamModelList(UpstreamHttp http, UpstreamCatalog catalog, TimeProvider time, ILogger<UpstreamModelList> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(20);
    private const int MaxPages = 20;

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private (IReadOnlyList<UpstreamModel> Models, DateTimeOffset FetchedAt)? _cached;

    public async Task<ModelListResult> GetAsync(CancellationToken cancellationToken)
    {
        if (_cached is { } cached && time.GetUtcNow() - cached.FetchedAt < CacheFor)
        {
            return new ModelListResult(cached.Models, 200, null, null);
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (_cached is { } fresh && time.GetUtcNow() - fresh.FetchedAt < CacheFor)
            {
                return new ModelListResult(fresh.Models, 200, null, null);
            }

            var result = await FetchAsync(cancellationToken);
            if (result.Models is { } models)
            {
                _cached = (models, time.GetUtcNow());
            }

            return result;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private async Task<ModelListResult> FetchAsync(CancellationToken cancellationToken)
    {
        var endpoint = catalog.Primary;
        var models = new List<UpstreamModel>();
        string? afterId = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FetchTimeout);
        for (var page = 0; page < MaxPages; page++)
        {
            var path = afterId is null ? "/v1/models?limit=1000" : "/v1/models?limit=1000&after_id=" + Uri.EscapeDataString(afterId);
            using var request = new HttpRequestMessage(HttpMethod.Get, endpoint.BuildUri(path))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            };
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            if (!string.IsNullOrEmpty(endpoint.ApiKey))
            {
                request.Headers.TryAddWithoutValidation("x-api-key", endpoint.ApiKey);
            }

            byte[] body;
            HttpStatusCode status;
            string? contentType;
            try
            {
                using var response = await http.Invoker.SendAsync(request, timeout.Token);
                status = response.StatusCode;
                contentType = response.Content.Headers.ContentType?.ToString();
                body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogListFailed(logger, endpoint.Name, ex.Message);
                return new ModelListResult(null, 502, null, null);
            }

            if (status != HttpStatusCode.OK)
            {
                LogListFailed(logger, endpoint.Name, "status " + (int)status);
                return new ModelListResult(null, (int)status, contentType, body);
            }

            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                foreach (var model in root.GetProperty("data").EnumerateArray())
                {
                    if (model.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                    {
                        models.Add(new UpstreamModel(id.GetString()!, Encoding.UTF8.GetBytes(model.GetRawText())));
                    }
                }

                var hasMore = root.TryGetProperty("has_more", out var more) && more.ValueKind == JsonValueKind.True;
                afterId = hasMore && root.TryGetProperty("last_id", out var last) && last.ValueKind == JsonValueKind.String ? last.GetString() : null;
                if (afterId is null)
                {
                    break;
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                LogListFailed(logger, endpoint.Name, "unreadable model list: " + ex.Message);
                return new ModelListResult(null, 502, null, null);
            }
        }

        return new ModelListResult(models, 200, null, null);
    }

    [LoggerMessage(1611, LogLevel.Warning, "Listing models of upstream {Upstream} failed: {Reason}")]
    private static partial void LogListFailed(ILogger logger, string upstream, string reason);
}
