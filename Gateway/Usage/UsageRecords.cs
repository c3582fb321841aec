using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Pipeline;

namespace LlmGateway.Gateway.Usage;

/// <summary>The one place a <see cref="UsageRecord"/> is made: who called (from the credential), when, how it ended.</summary>
internal static class UsageRecords
{
    /// <summary>A request that consumed no tokens (pass-through, model list, refusals before a model was read).</summary>
    public static UsageRecord WithoutTokens(
        string requestId, TimeProvider time, TimeSpan latency, CredentialProjection credential, string route,
        string? upstream, int status, string? errorType) =>
        new(requestId,
            time.GetUtcNow().ToUnixTimeMilliseconds() - (long)latency.TotalMilliseconds,
            credential.Id,
            CredentialKindNames.Of(credential.Kind),
            credential.Owner.Type,
            credential.Owner.Id,
            credential.Owner.OrganizationId,
            credential.AgentName,
            credential.DeviceId,
            Model: null,
            upstream,
            route, // cut to UsageRecord.MaxTextLength where every text field is (ToFields)
            status,
            errorType,
            0, 0, 0, 0,
            Stream: false,
            (long)latency.TotalMilliseconds,
            TimeToFirstByteMs: null,
            Estimated: false);

    /// <summary>A model request, with the usage the response reported (or its estimate).</summary>
    public static UsageRecord ForModelRequest(ModelExchange exchange, TimeProvider time, TimeSpan latency, TimeSpan? ttfb) =>
        WithoutTokens(exchange.RequestId, time, latency, exchange.Credential, exchange.Route.Path, exchange.Upstream, exchange.Status, exchange.ErrorType) with
        {
            Model = exchange.Model,
            InputTokens = exchange.Usage.InputTokens,
            OutputTokens = exchange.Usage.OutputTokens,
            CacheCreationInputTokens = exchange.Usage.CacheCreationInputTokens,
            CacheReadInputTokens = exchange.Usage.CacheReadInputTokens,
            Stream = exchange.Stream,
            TimeToFirstByteMs = ttfb is { } t ? (long)t.TotalMilliseconds : null,
            Estimated = exchange.Estimated,
            Attempts = exchange.Attempts,
        };
}
