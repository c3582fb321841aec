using System.Text;
using LlmGateway.Testing;

namespace LlmGateway.Gateway.Tests.Forwarding;

/// <summary>
/// A body whose framing is broken (a bad chunk header, a chunk shorter than it says, a body that ends before its
/// Content-Length) is a 400 in Anthropic's shape on every kind of route, never a 200 with an empty body, a 502, or
/// silence; and nothing of it reaches a service or the upstream. A body cut short by the client half-closing its
/// connection cannot be answered: Kestrel treats a client FIN as the connection closing and aborts the request
/// (dotnet/aspnetcore#13188, aspnet/KestrelHttpServer#1218); then nothing may be forwarded either.
/// </summary>
public sealed class BrokenFramingTests(ControlPlaneFixture fixture) : IClassFixture<ControlPlaneFixture>
{
    private const string Json = """{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""";

    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var path in new[] { "/v1/messages", "/v1/skills", "/v1/tokens" })
        {
            // A chunk-size line that is not hex.
            data.Add(path, "chunked:zz\r\n" + Json + "\r\n0\r\n\r\n", false);
            // A chunk that declares more bytes than follow before the next chunk header.
            data.Add(path, $"chunked:{Json.Length + 40:x}\r\n{Json}\r\n0\r\n\r\n", true);
            // A chunk without its trailing CRLF.
            data.Add(path, $"chunked:{Json.Length:x}\r\n{Json}XX0\r\n\r\n", false);
            // A body that ends (the client half-closes) before its Content-Length.
            data.Add(path, "length:" + Json[..20], true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Broken_framing_is_a_400_invalid_request_error(string path, string framing, bool halfClose)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var upstream = fixture.Upstream.Requests.Count;
        var tokenService = fixture.TokenService.Requests.Count;

        var head = new StringBuilder()
            .Append($"POST {path} HTTP/1.1\r\nHost: {fixture.Gateway.BaseAddress.Authority}\r\nConnection: close\r\n")
            .Append($"x-api-key: {secret}\r\ncontent-type: application/json\r\nanthropic-version: 2023-06-01\r\n");
        string body;
        if (framing.StartsWith("chunked:", StringComparison.Ordinal))
        {
            head.Append("Transfer-Encoding: chunked\r\n\r\n");
            body = framing["chunked:".Length..];
        }
        else
        {
            body = framing["length:".Length..];
            head.Append($"Content-Length: {Json.Length}\r\n\r\n");
        }

        var (status, answer) = await RawHttp.SendBytesAsync(fixture.Gateway.BaseAddress,
            Encoding.ASCII.GetBytes(head.ToString() + body), halfClose);

        // A half-closed connection is aborted by Kestrel before any answer can be written (see above).
        Assert.True(status == 400 || (halfClose && status == 0), $"{path}: {status} {answer}");
        if (status == 0)
        {
            await Task.Delay(200); // anything wrongly forwarded would have been by now
        }
        else
        {
            Assert.Contains("\"type\":\"invalid_request_error\"", answer);
            Assert.Contains("\"request_id\":\"req_", answer);
        }

        Assert.Equal(upstream, fixture.Upstream.Requests.Count);
        Assert.Equal(tokenService, fixture.TokenService.Requests.Count);
    }
}
