using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Contracts.Usage;

namespace LlmGateway.UsageWorker.Model;

/// <summary>
/// Turns the field/value pairs of a usage stream entry into a priced <see cref="UsageEvent"/>, or explains why it
/// cannot (a poisoned entry, which goes to the dead-letter stream). Parsing is deterministic: an entry rejected once
/// would be rejected on every retry, so it is never retried.
/// </summary>
internal sealed class UsageEventParser(PriceTable prices)
{
    public const int MaxRequestIdLength = 200;
    public const int MaxTextLength = 256;

    /// <summary>Far above any real request; keeps sums and cost arithmetic far from overflow.</summary>
    public const long MaxTokens = 10_000_000_000;

    private static readonly long MinTimestampMs = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long MaxTimestampMs = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    public bool TryParse(string[] fields, [NotNullWhen(true)] out UsageEvent? usage, [NotNullWhen(false)] out string? error)
    {
        usage = null;
        if (fields.Length % 2 != 0)
        {
            error = "odd number of field/value items";
            return false;
        }

        string? requestId = null, ts = null, credentialId = null, credentialKind = null, ownerType = null, ownerId = null,
            orgId = null, agentName = null, deviceId = null, model = null, upstream = null, route = null, status = null,
            errorType = null, input = null, output = null, cacheCreation = null, cacheRead = null, stream = null,
            latency = null, ttfb = null, estimated = null, attempts = null;
        for (var i = 0; i < fields.Length; i += 2)
        {
            var value = fields[i + 1];
            switch (fields[i])
            {
                case UsageEventFields.RequestId: requestId = value; break;
                case UsageEventFields.Timestamp: ts = value; break;
                case UsageEventFields.CredentialId: credentialId = value; break;
                case UsageEventFields.CredentialKind: credentialKind = value; break;
                case UsageEventFields.OwnerType: ownerType = value; break;
                case UsageEventFields.OwnerId: ownerId = value; break;
                case UsageEventFields.OrganizationId: orgId = value; break;
                case UsageEventFields.AgentName: agentName = value; break;
                case UsageEventFields.DeviceId: deviceId = value; break;
                case UsageEventFields.Model: model = value; break;
                case UsageEventFields.Upstream: upstream = value; break;
                case UsageEventFields.Route: route = value; break;
                case UsageEventFields.Status: status = value; break;
                case UsageEventFields.ErrorType: errorType = value; break;
                case UsageEventFields.InputTokens: input = value; break;
                case UsageEventFields.OutputTokens: output = value; break;
                case UsageEventFields.CacheCreationInputTokens: cacheCreation = value; break;
                case UsageEventFields.CacheReadInputTokens: cacheRead = value; break;
                case UsageEventFields.Stream: stream = value; break;
                case UsageEventFields.LatencyMs: latency = value; break;
                case UsageEventFields.TimeToFirstByteMs: ttfb = value; break;
                case UsageEventFields.Estimated: estimated = value; break;
                case UsageEventFields.Attempts: attempts = value; break;
                default: break; // Fields added later by a newer Gateway are ignored.
            }
        }

        if (string.IsNullOrEmpty(requestId))
        {
            error = $"{UsageEventFields.RequestId} is missing";
            return false;
        }

        if (requestId.Length > MaxRequestIdLength || requestId.Any(char.IsControl))
        {
            error = $"{UsageEventFields.RequestId} is longer than {MaxRequestIdLength} characters or has control characters";
            return false;
        }

        if (ts is null)
        {
            error = $"{UsageEventFields.Timestamp} is missing";
            return false;
        }

        if (!TryInteger(UsageEventFields.Timestamp, ts, MinTimestampMs, MaxTimestampMs, out var timestampMs, out error)
            || !TryText(UsageEventFields.CredentialId, ref credentialId, out error)
            || !TryText(UsageEventFields.CredentialKind, ref credentialKind, out error)
            || !TryText(UsageEventFields.OwnerType, ref ownerType, out error)
            || !TryText(UsageEventFields.OwnerId, ref ownerId, out error)
            || !TryText(UsageEventFields.OrganizationId, ref orgId, out error)
            || !TryText(UsageEventFields.AgentName, ref agentName, out error)
            || !TryText(UsageEventFields.DeviceId, ref deviceId, out error)
            || !TryText(UsageEventFields.Model, ref model, out error)
            || !TryText(UsageEventFields.Upstream, ref upstream, out error)
            || !TryText(UsageEventFields.Route, ref route, out error)
            || !TryText(UsageEventFields.ErrorType, ref errorType, out error)
            || !TryOptionalInteger(UsageEventFields.Status, status, 0, 999, out var statusCode, out error)
            || !TryOptionalInteger(UsageEventFields.InputTokens, input, 0, MaxTokens, out var inputTokens, out error)
            || !TryOptionalInteger(UsageEventFields.OutputTokens, output, 0, MaxTokens, out var outputTokens, out error)
            || !TryOptionalInteger(UsageEventFields.CacheCreationInputTokens, cacheCreation, 0, MaxTokens, out var cacheCreationTokens, out error)
            || !TryOptionalInteger(UsageEventFields.CacheReadInputTokens, cacheRead, 0, MaxTokens, out var cacheReadTokens, out error)
            || !TryOptionalInteger(UsageEventFields.LatencyMs, latency, 0, int.MaxValue, out var latencyMs, out error)
            || !TryOptionalInteger(UsageEventFields.TimeToFirstByteMs, ttfb, 0, int.MaxValue, out var ttfbMs, out error)
            || !TryOptionalInteger(UsageEventFields.Attempts, attempts, 0, 1000, out var attemptCount, out error)
            || !TryFlag(UsageEventFields.Stream, stream, out var isStream, out error)
            || !TryFlag(UsageEventFields.Estimated, estimated, out var isEstimated, out error))
        {
            return false;
        }

        var tokens = new TokenUsage(inputTokens ?? 0, outputTokens ?? 0, cacheCreationTokens ?? 0, cacheReadTokens ?? 0);
        long cost = 0;
        var priced = tokens.TotalTokens == 0;
        if (!priced && prices.TryGetPrice(model, upstream, out var price))
        {
            try
            {
                cost = price.CostNanoUsd(tokens);
            }
            catch (OverflowException)
            {
                error = "the cost of these tokens overflows";
                return false;
            }

            priced = true;
        }

        usage = new UsageEvent
        {
            RequestId = requestId,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(timestampMs),
            CredentialId = credentialId,
            CredentialKind = credentialKind,
            OwnerType = ownerType,
            OwnerId = ownerId,
            OrganizationId = orgId,
            AgentName = agentName,
            DeviceId = deviceId,
            Model = model,
            Upstream = upstream,
            Route = route,
            Status = (short?)statusCode,
            ErrorType = errorType,
            InputTokens = tokens.InputTokens,
            OutputTokens = tokens.OutputTokens,
            CacheCreationInputTokens = tokens.CacheCreationInputTokens,
            CacheReadInputTokens = tokens.CacheReadInputTokens,
            Stream = isStream,
            Estimated = isEstimated,
            LatencyMs = (int?)latencyMs,
            TimeToFirstByteMs = (int?)ttfbMs,
            Attempts = (int?)attemptCount,
            CostNanoUsd = cost,
            Priced = priced,
        };
        return true;
    }

    private static bool TryText(string field, ref string? value, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (value is null)
        {
            return true;
        }

        if (value.Length == 0)
        {
            value = null;
            return true;
        }

        if (value.Length > MaxTextLength)
        {
            error = $"{field} is longer than {MaxTextLength} characters";
            return false;
        }

        return true;
    }

    private static bool TryInteger(string field, string value, long min, long max, out long result, [NotNullWhen(false)] out string? error)
    {
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max)
        {
            error = null;
            return true;
        }

        error = $"{field} '{Truncate(value)}' is not an integer between {min} and {max}";
        return false;
    }

    private static bool TryOptionalInteger(string field, string? value, long min, long max, out long? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        error = null;
        if (value is null)
        {
            return true;
        }

        if (!TryInteger(field, value, min, max, out var parsed, out error))
        {
            return false;
        }

        result = parsed;
        return true;
    }

    private static bool TryFlag(string field, string? value, out bool result, [NotNullWhen(false)] out string? error)
    {
        error = null;
        switch (value)
        {
            case null or "0" or "false":
                result = false;
                return true;
            case "1" or "true":
                result = true;
                return true;
            default:
                result = false;
                error = $"{field} '{Truncate(value)}' is not 0 or 1";
                return false;
        }
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
