using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Forwarding;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>A model as the upstream describes it: its id and its JSON object, passed to callers unchanged.</summary>
internal sealed record UpstreamModel(string Id, byte[] Json);

/// <summary>
/// The list, or the upstream's own error answer (<see cref="ErrorBody"/>, passed on unmodified), or the failure that left
/// neither (<see cref="Failure"/>: already logged where it happened, answered by <see cref="ForwardingFailures.Describe"/>).
/// </summary>
internal sealed record ModelListResult(
    IReadOnlyList<UpstreamModel>? Models, int Status, string? ContentType, byte[]? ErrorBody,
    ForwardingFailure Failure = ForwardingFailure.None);

/// <summary>
/// The upstream's full model list (all pages of <c>GET /v1/models</c>), cached for a minute: <c>/v1/models</c> answers
/// from it, filtered to what each caller may use. The pages are fetched through <see cref="UpstreamForwarder.FetchAsync"/>.
/// </summary>
internal sealed partial class UpstreamModelList(UpstreamForwarder forwarder, UpstreamCatalog catalog, TimeProvider time, ILogger<UpstreamModelList> logger)
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
            var fetched = await forwarder.FetchAsync(endpoint, path, timeout.Token, cancellationToken);
            if (fetched.Body is not { } body)
            {
                return new ModelListResult(null, fetched.StatusCode, null, null, fetched.Failure);
            }

            if (fetched.StatusCode != (int)HttpStatusCode.OK)
            {
                LogListFailed(logger, endpoint.Name, "status " + fetched.StatusCode);
                return new ModelListResult(null, fetched.StatusCode, fetched.ContentType, body);
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
                // Not a whole model list: for the caller, the upstream's answer ended before it was complete.
                LogListFailed(logger, endpoint.Name, "unreadable model list: " + ex.Message);
                return new ModelListResult(null, 502, null, null, ForwardingFailure.ResponseBodyUpstream);
            }
        }

        return new ModelListResult(models, 200, null, null);
    }

    [LoggerMessage(1611, LogLevel.Warning, "Listing models of upstream {Upstream} failed: {Reason}")]
    private static partial void LogListFailed(ILogger logger, string upstream, string reason);
}
