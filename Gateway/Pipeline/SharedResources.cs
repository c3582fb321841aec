using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>
/// Upstream resources that outlive a request and belong to the upstream account, which all of this gateway's callers
/// share: message batches (<c>/v1/messages/batches</c>), files (<c>/v1/files</c>) and the organization's admin API
/// (<c>/v1/organizations</c>). The admin API is never forwarded. Batches and files are refused unless
/// <see cref="GatewayOptions.SharedResourcesEnabled"/>; then the gateway records who created each one
/// (<c>lgw:owned:{batch|file}:{id}</c> → the creator's credential family) and serves it to that family only. Listing
/// them is refused: the upstream's list holds every tenant's.
/// </summary>
internal sealed class SharedResources(IOptions<GatewayOptions> options, IConnectionMultiplexer redis)
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(60);
    private readonly bool _enabled = options.Value.SharedResourcesEnabled;

    /// <summary>What kind of shared resource a path addresses, and its id when it names one.</summary>
    public static (string? Kind, string? Id) Classify(PathString path)
    {
        var segments = (path.Value ?? "").Trim('/').Split('/');
        return segments switch
        {
            ["v1", "organizations", ..] => ("organization", null),
            ["v1", "messages", "batches"] => ("batch", null),
            ["v1", "messages", "batches", var id, ..] => ("batch", id),
            ["v1", "files"] => ("file", null),
            ["v1", "files", var id, ..] => ("file", id),
            _ => (null, null),
        };
    }

    /// <summary>
    /// Null when the caller may go ahead (and the response should be captured to record ownership when
    /// <paramref name="creates"/>), else the refusal's status and message.
    /// </summary>
    public async Task<(int Status, string Message)?> CheckAsync(HttpRequest request, string kind, string? id, CredentialProjection credential)
    {
        var noun = kind == "batch" ? "Message batches" : "Files";
        if (kind == "organization")
        {
            return (403, "The organization API manages the upstream account this gateway holds; it is not available through the gateway.");
        }

        if (!_enabled)
        {
            return (403, $"{noun} live in the upstream account that every caller of this gateway shares, so they are turned off here (Gateway:SharedResourcesEnabled).");
        }

        if (id is null)
        {
            return HttpMethods.IsPost(request.Method)
                ? null
                : (403, $"{noun} cannot be listed through this gateway: the upstream's list holds every caller's. Keep the ids you created.");
        }

        var owner = await redis.GetDatabase().StringGetAsync(Key(kind, id));
        // Unknown and not yours read the same: an id is no proof that it exists.
        return owner == Family(credential) ? null : (404, $"No {kind} with id '{id}' was created with this credential.");
    }

    public static bool Creates(HttpRequest request, string? kind, string? id) =>
        kind is "batch" or "file" && id is null && HttpMethods.IsPost(request.Method);

    /// <summary>Records the creator of a new batch or file (the id from the upstream's answer).</summary>
    public Task RecordAsync(string kind, string id, CredentialProjection credential) =>
        redis.GetDatabase().StringSetAsync(Key(kind, id), Family(credential), Retention);

    /// <summary>A key and every token minted from it: the root of the lineage.</summary>
    private static string Family(CredentialProjection credential) => credential.Ancestors is [.., var root] ? root.Id : credential.Id;

    private static string Key(string kind, string id) => RedisKeys.Owned(kind, id);
}
