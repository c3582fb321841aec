namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>Random ids in the providers' shapes (<c>req_…</c>, <c>msg_01…</c>, <c>toolu_01…</c>, <c>chatcmpl-…</c>).</summary>
internal static class IdGenerator
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string RequestId() => Create("req_011C", 20);

    public static string MessageId() => Create("msg_01", 22);

    public static string ToolUseId() => Create("toolu_01", 22);

    public static string CompletionId() => Create("compl_01", 22);

    public static string ChatCompletionId() => Create("chatcmpl-", 29);

    public static string ToolCallId() => Create("call_", 24);

    private static string Create(string prefix, int randomLength) =>
        string.Create(prefix.Length + randomLength, prefix, static (span, p) =>
        {
            p.AsSpan().CopyTo(span);
            Random.Shared.GetItems(Base62.AsSpan(), span[p.Length..]);
        });
}
