using System.Text;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Tests.Unit;

public class BatchRequestModelsTests
{
    private static BatchRequestModels.Verdict Check(string json, string[] allowlist, out string? denied) =>
        BatchRequestModels.Check(Encoding.UTF8.GetBytes(json), allowlist, new ModelNameTable(), out denied);

    [Fact]
    public void Every_request_in_a_batch_must_use_an_allowed_model()
    {
        const string batch = """
            {"requests":[
              {"custom_id":"a","params":{"model":"claude-haiku-4-5","max_tokens":10,"messages":[]}},
              {"custom_id":"b","params":{"max_tokens":10,"model":"claude-opus-4-6","messages":[]}}]}
            """;
        Assert.Equal(BatchRequestModels.Verdict.Allowed, Check(batch, ["claude-*"], out _));
        Assert.Equal(BatchRequestModels.Verdict.Denied, Check(batch, ["claude-haiku-*"], out var denied));
        Assert.Equal("claude-opus-4-6", denied);
    }

    [Fact]
    public void A_model_that_is_not_a_string_is_denied_and_broken_json_is_malformed()
    {
        Assert.Equal(BatchRequestModels.Verdict.Denied, Check("""{"requests":[{"params":{"model":7}}]}""", ["*"], out _));
        Assert.Equal(BatchRequestModels.Verdict.Malformed, Check("""{"requests":[{"params":{"model":"m"}}""", ["*"], out _));
    }
}
