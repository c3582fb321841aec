namespace LlmGateway.Contracts.Usage;

/// <summary>
/// Field names of a usage event on <see cref="RedisKeys.UsageStream"/>. Values are strings; numbers in invariant
/// culture; booleans as <c>0</c>/<c>1</c>; time as Unix milliseconds. Absent optional fields are omitted.
/// </summary>
public static class UsageEventFields
{
    public const string RequestId = "request_id";
    public const string Timestamp = "ts";
    public const string CredentialId = "credential_id";
    public const string CredentialKind = "credential_kind";
    public const string OwnerType = "owner_type";
    public const string OwnerId = "owner_id";
    public const string OrganizationId = "org_id";
    public const string AgentName = "agent_name";
    public const string DeviceId = "device_id";
    public const string Model = "model";
    public const string Upstream = "upstream";
    public const string Route = "route";
    public const string Status = "status";
    public const string ErrorType = "error_type";
    public const string InputTokens = "input_tokens";
    public const string OutputTokens = "output_tokens";
    public const string CacheCreationInputTokens = "cache_creation_input_tokens";
    public const string CacheReadInputTokens = "cache_read_input_tokens";
    public const string Stream = "stream";
    public const string LatencyMs = "latency_ms";
    public const string TimeToFirstByteMs = "ttfb_ms";
    public const string Estimated = "estimated";

    /// <summary>Upstream attempts the request took (1 = first try; more after retries or fallback to another target).</summary>
    public const string Attempts = "attempts";
}
