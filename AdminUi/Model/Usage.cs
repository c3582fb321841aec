namespace LlmGateway.AdminUi.Model;

// The UsageWorker's usage API, reached through the gateway; its answers are the shared Contracts/Usage/UsageReports.cs.

/// <summary>The filters every usage route takes; null means "any".</summary>
public sealed record UsageFilter(string? CredentialId = null, string? OwnerId = null, string? OrgId = null, string? AgentName = null, string? DeviceId = null, string? Model = null)
{
    public bool IsEmpty => this == new UsageFilter();

    public IEnumerable<KeyValuePair<string, string?>> Parameters =>
    [
        new("credential_id", CredentialId),
        new("owner_id", OwnerId),
        new("org_id", OrgId),
        new("agent_name", AgentName),
        new("device_id", DeviceId),
        new("model", Model),
    ];
}
