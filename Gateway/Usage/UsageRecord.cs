using System.Globalization;
using LlmGateway.Contracts.Usage;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// One usage event: exactly one per authenticated request, whatever its outcome. <see cref="RequestId"/> is the
/// idempotency key (the UsageWorker drops duplicates), so a replay after an uncertain write is harmless.
/// </summary>
internal readonly record struct UsageRecord(
    string RequestId,
    long TimestampMs,
    string? CredentialId,
    string? CredentialKind,
    string? OwnerType,
    string? OwnerId,
    string? OrganizationId,
    string? AgentName,
    string? DeviceId,
    string? Model,
    string? Upstream,
    string Route,
    int Status,
    string? ErrorType,
    long InputTokens,
    long OutputTokens,
    long CacheCreationInputTokens,
    long CacheReadInputTokens,
    bool Stream,
    long LatencyMs,
    long? TimeToFirstByteMs,
    bool Estimated,
    int Attempts = 0)
{
    /// <summary>The longest text field value in the stream entry; longer ones are cut.</summary>
    public const int MaxTextLength = 256;

    /// <summary>
    /// The stream entry: alternating field names (<see cref="UsageEventFields"/>) and values. Values are invariant
    /// strings, booleans <c>0</c>/<c>1</c>, time in Unix milliseconds; absent optional fields are omitted.
    /// </summary>
    public string[] ToFields()
    {
        // Sized exactly: this runs once per request on the background writer.
        var count = 11
            + (CredentialId is null ? 0 : 1) + (CredentialKind is null ? 0 : 1) + (OwnerType is null ? 0 : 1)
            + (OwnerId is null ? 0 : 1) + (OrganizationId is null ? 0 : 1) + (AgentName is null ? 0 : 1)
            + (DeviceId is null ? 0 : 1) + (Model is null ? 0 : 1) + (Upstream is null ? 0 : 1)
            + (ErrorType is null ? 0 : 1) + (TimeToFirstByteMs is null ? 0 : 1) + (Attempts > 0 ? 1 : 0);
        var fields = new string[count * 2];
        var i = 0;
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                fields[i++] = name;
                // Text fields are bounded so that an absurd model name cannot poison the entry for the UsageWorker.
                fields[i++] = value.Length > MaxTextLength ? value[..MaxTextLength] : value;
            }
        }

        static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

        Add(UsageEventFields.RequestId, RequestId);
        Add(UsageEventFields.Timestamp, Number(TimestampMs));
        Add(UsageEventFields.CredentialId, CredentialId);
        Add(UsageEventFields.CredentialKind, CredentialKind);
        Add(UsageEventFields.OwnerType, OwnerType);
        Add(UsageEventFields.OwnerId, OwnerId);
        Add(UsageEventFields.OrganizationId, OrganizationId);
        Add(UsageEventFields.AgentName, AgentName);
        Add(UsageEventFields.DeviceId, DeviceId);
        Add(UsageEventFields.Model, Model);
        Add(UsageEventFields.Upstream, Upstream);
        Add(UsageEventFields.Route, Route);
        Add(UsageEventFields.Status, Number(Status));
        Add(UsageEventFields.ErrorType, ErrorType);
        Add(UsageEventFields.InputTokens, Number(InputTokens));
        Add(UsageEventFields.OutputTokens, Number(OutputTokens));
        Add(UsageEventFields.CacheCreationInputTokens, Number(CacheCreationInputTokens));
        Add(UsageEventFields.CacheReadInputTokens, Number(CacheReadInputTokens));
        Add(UsageEventFields.Stream, Stream ? "1" : "0");
        Add(UsageEventFields.LatencyMs, Number(LatencyMs));
        Add(UsageEventFields.TimeToFirstByteMs, TimeToFirstByteMs is { } ttfb ? Number(ttfb) : null);
        Add(UsageEventFields.Estimated, Estimated ? "1" : "0");
        Add(UsageEventFields.Attempts, Attempts > 0 ? Number(Attempts) : null);
        return fields;
    }
}
