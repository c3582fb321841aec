using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// The upstream OAuth account a request is served with and its current access token (swapped once after an upstream
/// 401). Prints without the token.
/// </summary>
internal sealed class UpstreamOAuthGrant(string accountId, string token)
{
    public const string BetaHeader = "anthropic-beta";
    public const string BetaValue = "oauth-2025-04-20";

    public string AccountId { get; } = accountId;
    public string Token { get; set; } = token;

    /// <summary>Whether the token was already renewed for this request (at most once).</summary>
    public bool Renewed { get; set; }

    public override string ToString() => $"UpstreamOAuthGrant({AccountId})";
}

/// <summary>A token, or the reason there is none (already phrased for the caller).</summary>
internal readonly record struct AccountTokenResult(string? Token, string? Problem)
{
    public override string ToString() => Token is null ? $"AccountTokenResult(problem {Problem})" : "AccountTokenResult(token)";
}

/// <summary>
/// Access tokens of upstream OAuth accounts, from TokenService's internal route
/// <c>POST /internal/upstream-accounts/{id}/token</c> (which decrypts and refreshes them, one refresh across all
/// replicas), cached here until shortly before they expire. One request to TokenService per account at a time.
/// </summary>
internal sealed partial class UpstreamAccountTokens(
    IHttpClientFactory clients, TimeProvider time, ILogger<UpstreamAccountTokens> logger, StackExchange.Redis.IConnectionMultiplexer? redis = null)
{
    public const string HttpClientName = "upstream-account-tokens";

    private static readonly TimeSpan MaxEarly = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset UseUntil)> _cache = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();
    private int _subscribed;

    /// <summary>The account's current token; <paramref name="rejected"/> is a token the upstream just refused (forces one refresh).</summary>
    public async Task<AccountTokenResult> GetAsync(string accountId, string? rejected, CancellationToken cancellationToken)
    {
        if (redis is not null && Interlocked.Exchange(ref _subscribed, 1) == 0)
        {
            _ = SubscribeAsync(redis);
        }

        if (TryCached(accountId, rejected) is { } cached)
        {
            return new AccountTokenResult(cached, null);
        }

        var gate = _gates.GetOrAdd(accountId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (TryCached(accountId, rejected) is { } again)
            {
                return new AccountTokenResult(again, null);
            }

            if (rejected is not null)
            {
                _cache.TryRemove(accountId, out _);
            }

            return await FetchAsync(accountId, rejected, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task SubscribeAsync(StackExchange.Redis.IConnectionMultiplexer connection)
    {
        try
        {
            await connection.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Literal(LlmGateway.Contracts.RedisKeys.UpstreamAccountEvents),
                (channel, message) => _cache.TryRemove(message.ToString(), out var dropped));
        }
        catch (StackExchange.Redis.RedisException e)
        {
            // Without the channel a disconnect takes effect when the cached token is next due (at most its lifetime).
            Volatile.Write(ref _subscribed, 0);
            LogTokenServiceUnreachable(logger, "*", "subscribe failed: " + e.Message);
        }
    }

    private string? TryCached(string accountId, string? rejected) =>
        _cache.TryGetValue(accountId, out var entry) && entry.Token != rejected && time.GetUtcNow() < entry.UseUntil ? entry.Token : null;

    private async Task<AccountTokenResult> FetchAsync(string accountId, string? rejected, CancellationToken cancellationToken)
    {
        var client = clients.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await client.PostAsJsonAsync($"/internal/upstream-accounts/{Uri.EscapeDataString(accountId)}/token",
                new TokenRequest(rejected), cancellationToken);
        }
        catch (HttpRequestException e)
        {
            LogTokenServiceUnreachable(logger, accountId, e.Message);
            return new AccountTokenResult(null, $"The upstream account {accountId} is unavailable right now (TokenService unreachable); try again shortly.");
        }

        using (response)
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (response.IsSuccessStatusCode && body.TryGetProperty("access_token", out var token) && body.TryGetProperty("expires_at", out var expires))
            {
                var now = time.GetUtcNow();
                var expiresAt = expires.GetDateTimeOffset();
                // Ask again a minute before expiry, or halfway for short-lived tokens; TokenService refreshes before that.
                var early = TimeSpan.FromTicks(Math.Min(MaxEarly.Ticks, Math.Max(0, (expiresAt - now).Ticks / 2)));
                _cache[accountId] = (token.GetString()!, expiresAt - early);
                return new AccountTokenResult(token.GetString(), null);
            }

            var message = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var m)
                ? m.GetString() : null;
            LogTokenRefused(logger, accountId, (int)response.StatusCode, message ?? "-");
            return new AccountTokenResult(null, message ?? $"The upstream account {accountId} needs to be reconnected by an administrator.");
        }
    }

    private sealed record TokenRequest([property: JsonPropertyName("rejected_token")] string? RejectedToken);

    [LoggerMessage(1701, LogLevel.Warning, "Upstream account {Account}: TokenService unreachable ({Error})")]
    private static partial void LogTokenServiceUnreachable(ILogger logger, string account, string error);

    [LoggerMessage(1702, LogLevel.Warning, "Upstream account {Account}: no token ({Status}: {Message})")]
    private static partial void LogTokenRefused(ILogger logger, string account, int status, string message);
}
