namespace LlmGateway.UsageWorker.Model;

/// <summary>
/// One request as the Gateway reported it on the usage stream (<see cref="Contracts.Usage.UsageEventFields"/>), priced.
/// A row of <c>usage_events</c>; <see cref="RequestId"/> is the idempotency key.
/// </summary>
internal sealed class UsageEvent
{
    public required string RequestId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public string? CredentialId { get; init; }
    public string? CredentialKind { get; init; }
    public string? OwnerType { get; init; }
    public string? OwnerId { get; init; }
    public string? OrganizationId { get; init; }
    public string? AgentName { get; init; }
    public string? DeviceId { get; init; }
    public string? Model { get; init; }
    public string? Upstream { get; init; }
    public string? Route { get; init; }
    public short? Status { get; init; }
    public string? ErrorType { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public long CacheCreationInputTokens { get; init; }
    public long CacheReadInputTokens { get; init; }
    public bool Stream { get; init; }
    public bool Estimated { get; init; }
    public int? LatencyMs { get; init; }
    public int? TimeToFirstByteMs { get; init; }

    /// <summary>Upstream attempts (retries and fallback included); null from gateways that do not send it.</summary>
    public int? Attempts { get; init; }

    /// <summary>Cost in nano-USD from the shared price table; 0 when <see cref="Priced"/> is false.</summary>
    public long CostNanoUsd { get; init; }

    /// <summary>False when the event used tokens of a model the price table does not know.</summary>
    public bool Priced { get; init; }

    /// <summary>A failed request: an HTTP error status, or an error the Gateway noted (e.g. a cut stream).</summary>
    public bool IsError => Status is >= 400 || ErrorType is not null;
}
