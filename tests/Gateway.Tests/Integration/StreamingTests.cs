using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>Streaming through the whole app: byte fidelity, no buffering, cuts and disconnects.</summary>
[Collection(AppCollection.Name)]
public sealed class StreamingTests(AppFixture app)
{
    private static string NewTag() => "gw-" + Guid.NewGuid().ToString("N");

    private static HttpRequestMessage StreamRequest(string secret, string tag, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true")
        {
            Content = new StringContent(
                """{"model":"claude-sonnet-4-5","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"red green blue"}]}""",
                Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        request.Headers.TryAddWithoutValidation("x-sim-request-tag", tag);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private async Task<JsonDocument> SimRecordAsync(string tag, string wait = "finished") =>
        JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}?wait={wait}&timeoutMs=30000"));

    [Fact]
    public async Task The_streamed_bytes_equal_what_the_simulator_sent()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        using var http = app.Http();
        using var response = await http.SendAsync(StreamRequest(secret, tag, ("x-sim-output-tokens", "40"), ("x-sim-cache-read-tokens", "11")),
            HttpCompletionOption.ResponseHeadersRead);
        var received = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var sent = await app.Simulator.GetByteArrayAsync($"/sim/requests/{tag}/body");
        Assert.Equal(sent, received);

        var usage = await UsageStream.WaitForAsync(app.Redis, response.Headers.GetValues("request-id").Single());
        Assert.Equal("40", usage["output_tokens"]);
        Assert.Equal("11", usage["cache_read_input_tokens"]);
        Assert.Equal("1", usage["stream"]);
        Assert.Equal("0", usage["estimated"]);
    }

    [Fact]
    public async Task Each_event_reaches_the_client_before_the_simulator_may_send_the_next()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var gate = "gate-" + tag;
        using var http = app.Http();
        using var response = await http.SendAsync(StreamRequest(secret, tag, ("x-sim-gate", gate), ("x-sim-output-tokens", "3")),
            HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var reader = new SseEventReader(body);

        // The simulator holds event N+1 until it is released, and it is released only after event N arrived here.
        var events = new List<string>();
        while (true)
        {
            using var release = await app.Simulator.PostAsync($"/sim/gates/{gate}/release", null);
            var next = await reader.ReadEventAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (next is null)
            {
                break;
            }

            events.Add(next);
            if (next.StartsWith("event: message_stop", StringComparison.Ordinal))
            {
                break;
            }
        }

        Assert.StartsWith("event: message_start", events[0]);
        Assert.StartsWith("event: message_stop", events[^1]);
        Assert.True(events.Count >= 8);
        var sent = await app.Simulator.GetStringAsync($"/sim/requests/{tag}/body");
        Assert.Equal(sent, string.Concat(events));
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_upstream_request_and_usage_is_estimated()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var gate = "gate-" + tag;
        var http = app.Http();
        var response = await http.SendAsync(StreamRequest(secret, tag, ("x-sim-gate", gate)), HttpCompletionOption.ResponseHeadersRead);
        var requestId = response.Headers.GetValues("request-id").Single();
        var body = await response.Content.ReadAsStreamAsync();
        using (await app.Simulator.PostAsync($"/sim/gates/{gate}/release?count=3", null))
        {
        }

        var reader = new SseEventReader(body);
        Assert.StartsWith("event: message_start", await reader.ReadEventAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        await reader.ReadEventAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The client goes away while the simulator still holds the rest of the stream.
        response.Dispose();
        http.Dispose();

        using var record = await SimRecordAsync(tag);
        Assert.True(record.RootElement.GetProperty("aborted").GetBoolean());
        Assert.False(record.RootElement.GetProperty("completed").GetBoolean());

        var usage = await UsageStream.WaitForAsync(app.Redis, requestId);
        Assert.Equal("1", usage["estimated"]);
        Assert.Equal("499", usage["status"]);
        Assert.NotEqual("0", usage["input_tokens"]);
    }

    [Fact]
    public async Task An_upstream_cut_ends_in_an_error_event_after_every_event_the_simulator_sent()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        using var http = app.Http();
        using var response = await http.SendAsync(StreamRequest(secret, tag, ("x-sim-cut-after", "4"), ("x-sim-output-tokens", "30")),
            HttpCompletionOption.ResponseHeadersRead);
        var received = await response.Content.ReadAsStringAsync();

        using var record = await SimRecordAsync(tag);
        Assert.True(record.RootElement.GetProperty("cut").GetBoolean());
        var sent = await app.Simulator.GetStringAsync($"/sim/requests/{tag}/body");
        Assert.StartsWith(sent, received);
        var frame = received[sent.Length..];
        Assert.StartsWith("event: error\ndata: ", frame);
        using var error = JsonDocument.Parse(frame["event: error\ndata: ".Length..]);
        Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());

        var usage = await UsageStream.WaitForAsync(app.Redis, response.Headers.GetValues("request-id").Single());
        Assert.Equal("1", usage["estimated"]);
        Assert.Equal("upstream_stream_cut", usage["error_type"]);
    }

    [Fact]
    public async Task An_upstream_cut_reaches_the_sdk_as_an_exception_not_a_clean_end()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-cut-after"] = "5", ["x-sim-output-tokens"] = "30" });
        var request = new MessageCreateParams { Model = "claude-haiku-4-5", MaxTokens = 100, Messages = [new UserMessageParam { Content = "tell me" }] };

        await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var _ in client.Messages.CreateStreaming(request))
            {
            }
        });
    }

    [Fact]
    public async Task An_in_stream_upstream_error_is_passed_through_unchanged()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        using var http = app.Http();
        using var response = await http.SendAsync(StreamRequest(secret, tag, ("x-sim-error-after", "3")), HttpCompletionOption.ResponseHeadersRead);
        var received = await response.Content.ReadAsStringAsync();

        Assert.Equal(await app.Simulator.GetStringAsync($"/sim/requests/{tag}/body"), received);
        Assert.Contains("event: error", received);
        var usage = await UsageStream.WaitForAsync(app.Redis, response.Headers.GetValues("request-id").Single());
        Assert.Equal("overloaded_error", usage["error_type"]);
        Assert.Equal("1", usage["estimated"]);
    }

    /// <summary>Reads one SSE event (up to and including its blank line) at a time, without reading ahead.</summary>
    private sealed class SseEventReader(Stream stream)
    {
        private readonly byte[] _one = new byte[1];

        public async Task<string?> ReadEventAsync()
        {
            var bytes = new List<byte>();
            while (true)
            {
                if (await stream.ReadAsync(_one) == 0)
                {
                    return bytes.Count == 0 ? null : Encoding.UTF8.GetString(bytes.ToArray());
                }

                bytes.Add(_one[0]);
                if (bytes.Count >= 2 && bytes[^1] == '\n' && bytes[^2] == '\n')
                {
                    return Encoding.UTF8.GetString(bytes.ToArray());
                }
            }
        }
    }
}
