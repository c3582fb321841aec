using LlmGateway.Contracts.Usage;
using LlmGateway.Gateway.Usage;

namespace LlmGateway.Gateway.Tests.Unit;

public class UsageRecordTests
{
    private static readonly UsageRecord Full = new(
        "req_1", 1_795_000_000_000, "cred_1", "api_key", "organization", "org_1", "org_1", "agent-7", "laptop-2",
        "claude-opus-4-6", "anthropic", "/v1/messages", 200, "overloaded_error", 10, 20, 3, 4, Stream: true, 1234, 56, Estimated: true);

    [Fact]
    public void Every_field_is_written_with_the_contract_names_and_invariant_values()
    {
        var fields = Full.ToFields();
        Assert.Equal(0, fields.Length % 2);
        Assert.All(fields, Assert.NotNull);
        var map = Enumerable.Range(0, fields.Length / 2).ToDictionary(i => fields[2 * i], i => fields[2 * i + 1]);
        Assert.Equal(22, map.Count);
        Assert.Equal("req_1", map[UsageEventFields.RequestId]);
        Assert.Equal("1795000000000", map[UsageEventFields.Timestamp]);
        Assert.Equal("laptop-2", map[UsageEventFields.DeviceId]);
        Assert.Equal("agent-7", map[UsageEventFields.AgentName]);
        Assert.Equal("1", map[UsageEventFields.Stream]);
        Assert.Equal("1", map[UsageEventFields.Estimated]);
        Assert.Equal("56", map[UsageEventFields.TimeToFirstByteMs]);
        Assert.Equal("3", map[UsageEventFields.CacheCreationInputTokens]);
        Assert.Equal("4", map[UsageEventFields.CacheReadInputTokens]);
    }

    [Fact]
    public void Absent_optional_fields_are_omitted_and_long_text_is_bounded()
    {
        var sparse = Full with
        {
            CredentialKind = null, OwnerType = null, OwnerId = null, OrganizationId = null, AgentName = null, DeviceId = null,
            Upstream = null, ErrorType = null, TimeToFirstByteMs = null, Model = new string('m', 1000),
        };
        var fields = sparse.ToFields();
        Assert.All(fields, Assert.NotNull);
        var map = Enumerable.Range(0, fields.Length / 2).ToDictionary(i => fields[2 * i], i => fields[2 * i + 1]);
        Assert.Equal(13, map.Count);
        Assert.False(map.ContainsKey(UsageEventFields.ErrorType));
        Assert.Equal(UsageRecord.MaxTextLength, map[UsageEventFields.Model].Length);
    }
}
