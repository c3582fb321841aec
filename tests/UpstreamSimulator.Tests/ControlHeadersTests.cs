using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>The x-sim-* control headers and the /sim control plane, observed on the wire.</summary>
public sealed class ControlHeadersTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private const string StreamRequest = """{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"one two three"}]}""";
    private const string JsonRequest = """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"one two three"}]}""";

    private static string NewTag() => "t-" + Guid.NewGuid().ToString("N");

    private async Task<JsonElement> RecordAsync(string tag, string? wait = null)
    {
        using var response = await sim.Http.GetAsync($"/sim/requests/{tag}" + (wait is null ? "" : $"?wait={wait}&timeoutMs=20000"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private async Task<HttpResponseMessage> SendStreamingAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        await sim.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    [Theory]
    [InlineData("x-sim-latency-ms", "soon")]
    [InlineData("x-sim-status", "200")]
    [InlineData("x-sim-output-tokens", "-1")]
    [InlineData("x-sim-words-per-delta", "0")]
    public async Task Malformed_control_header_is_a_400_naming_the_header(string header, string value)
    {
        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: (header, value)));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith(header + ":", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Simulated_429_carries_retry_after_and_a_rate_limit_error()
    {
        using var defaulted = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: ("x-sim-status", "429")));
        using var overridden = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: [("x-sim-status", "529"), ("x-sim-retry-after", "7")]));
        using var plain500 = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: ("x-sim-status", "500")));
        var body = JsonDocument.Parse(await defaulted.Content.ReadAsStringAsync()).RootElement;
        var overloaded = JsonDocument.Parse(await overridden.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((HttpStatusCode)429, defaulted.StatusCode);
        Assert.Equal("1", defaulted.Headers.GetValues("retry-after").Single());
        Assert.Equal("rate_limit_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal((HttpStatusCode)529, overridden.StatusCode);
        Assert.Equal("application/json", overridden.Content.Headers.ContentType!.MediaType);
        Assert.Equal("7", overridden.Headers.GetValues("retry-after").Single());
        Assert.Equal("overloaded_error", overloaded.GetProperty("error").GetProperty("type").GetString());
        Assert.False(plain500.Headers.Contains("retry-after"));
    }

    [Fact]
    public async Task Status_times_fails_only_the_first_attempts_of_a_tag()
    {
        var tag = NewTag();
        (string, string)[] headers = [("x-sim-status", "529"), ("x-sim-status-times", "2"), ("x-sim-request-tag", tag)];

        var statuses = new List<HttpStatusCode>();
        var requestIds = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: headers));
            statuses.Add(response.StatusCode);
            requestIds.Add(response.Headers.GetValues("request-id").Single());
        }

        // The outcome (status, completed) is recorded once the handler has returned: just after the client has the last byte.
        var record = await RecordAsync(tag, wait: "finished");
        Assert.Equal([(HttpStatusCode)529, (HttpStatusCode)529, HttpStatusCode.OK], statuses);
        Assert.Equal(3, record.GetProperty("attempts").GetInt32());
        Assert.Equal(3, record.GetProperty("attempt").GetInt32());
        Assert.Equal(200, record.GetProperty("status").GetInt32());

        // Each attempt stays reachable by its request id.
        var first = await RecordAsync(requestIds[0]);
        Assert.Equal(tag, first.GetProperty("tag").GetString());
        Assert.Equal(1, first.GetProperty("attempt").GetInt32());
        Assert.Equal(529, first.GetProperty("status").GetInt32());
        Assert.Contains("overloaded_error", await sim.Http.GetStringAsync($"/sim/requests/{requestIds[0]}/body"));
    }

    [Fact]
    public async Task Cut_after_n_events_delivers_exactly_n_frames_then_breaks_the_body()
    {
        var tag = NewTag();
        using var response = await SendStreamingAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: [("x-sim-cut-after", "4"), ("x-sim-request-tag", tag)]));
        var reader = new SseStreamReader(await response.Content.ReadAsStreamAsync());

        var frames = new StringBuilder();
        var error = await Record.ExceptionAsync(async () =>
        {
            while (await reader.ReadFrameAsync() is { } frame)
            {
                frames.Append(frame);
            }
        });

        Assert.Equal(HttpRequestError.ResponseEnded, Assert.IsType<HttpIOException>(error).HttpRequestError);
        Assert.Equal(4, SseFrame.Parse(frames.ToString()).Count);
        var record = await RecordAsync(tag, wait: "finished");
        Assert.True(record.GetProperty("cut").GetBoolean());
        Assert.False(record.GetProperty("aborted").GetBoolean());
        Assert.False(record.GetProperty("completed").GetBoolean());
        Assert.Equal(4, record.GetProperty("events").GetInt32());
        Assert.Equal(frames.ToString(), await sim.Http.GetStringAsync($"/sim/requests/{tag}/body"));
    }

    [Fact]
    public async Task Cut_after_on_a_json_reply_sends_only_that_many_bytes()
    {
        var tag = NewTag();
        using var response = await SendStreamingAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: [("x-sim-cut-after", "30"), ("x-sim-request-tag", tag)]));

        var error = await Record.ExceptionAsync(() => response.Content.ReadAsByteArrayAsync());

        Assert.IsType<HttpRequestException>(error, exactMatch: false);
        var record = await RecordAsync(tag, wait: "finished");
        Assert.True(record.GetProperty("cut").GetBoolean());
        Assert.Equal(30, record.GetProperty("responseBytes").GetInt32());
    }

    [Fact]
    public async Task Error_after_n_events_sends_an_error_event_and_ends_cleanly()
    {
        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: ("x-sim-error-after", "3")));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(["message_start", "content_block_start", "ping", "error"], frames.Select(f => f.Event!));
        var error = frames[^1].Json;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", error.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task OpenAi_error_after_sends_an_error_chunk_without_done()
    {
        var request = """{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

        using var response = await sim.Http.SendAsync(sim.OpenAiPost(request, ("x-sim-error-after", "2")));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(3, frames.Count);
        Assert.Equal("server_error", frames[^1].Json.GetProperty("error").GetProperty("type").GetString());
        Assert.DoesNotContain(frames, f => f.Data == "[DONE]");
    }

    [Fact]
    public async Task Gated_stream_sends_one_event_per_release()
    {
        var tag = NewTag();
        var gate = NewTag();
        using var response = await SendStreamingAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: [("x-sim-gate", gate), ("x-sim-request-tag", tag), ("x-sim-output-tokens", "2")]));
        var reader = new SseStreamReader(await response.Content.ReadAsStreamAsync());

        // Headers arrive before any release; then each release lets exactly one more frame out.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = new List<string>();
        while (received.Count == 0 || !received[^1].StartsWith("event: message_stop", StringComparison.Ordinal))
        {
            Assert.Equal(received.Count, (await RecordAsync(tag)).GetProperty("events").GetInt32());
            using var release = await sim.Http.PostAsync($"/sim/gates/{gate}/release", null);
            var released = JsonDocument.Parse(await release.Content.ReadAsStringAsync()).RootElement.GetProperty("released").GetInt32();
            Assert.Equal(received.Count + 1, released);
            received.Add(Assert.IsType<string>(await reader.ReadFrameAsync()));
        }

        // message_start, block start, ping, 2 deltas, block stop, message_delta, message_stop; then a clean end.
        Assert.Equal(8, received.Count);
        Assert.Null(await reader.ReadFrameAsync());
        var record = await RecordAsync(tag, wait: "finished");
        Assert.True(record.GetProperty("completed").GetBoolean());

        // The gate went away with its stream: a new release starts a fresh count.
        using var fresh = await sim.Http.PostAsync($"/sim/gates/{gate}/release", null);
        Assert.Equal(1, JsonDocument.Parse(await fresh.Content.ReadAsStringAsync()).RootElement.GetProperty("released").GetInt32());
    }

    [Fact]
    public async Task Releases_before_the_stream_starts_are_kept()
    {
        var gate = NewTag();
        using (await sim.Http.PostAsync($"/sim/gates/{gate}/release?count=1000", null))
        {
        }

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: ("x-sim-gate", gate)));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("message_stop", frames[^1].Event);
    }

    [Fact]
    public async Task Client_disconnect_mid_stream_is_recorded_as_aborted()
    {
        var tag = NewTag();
        var gate = NewTag();
        var response = await SendStreamingAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: [("x-sim-gate", gate), ("x-sim-request-tag", tag)]));
        using (await sim.Http.PostAsync($"/sim/gates/{gate}/release", null))
        {
        }

        var first = await new SseStreamReader(await response.Content.ReadAsStreamAsync()).ReadFrameAsync();
        response.Dispose();

        var record = await RecordAsync(tag, wait: "finished");
        Assert.StartsWith("event: message_start", first);
        Assert.True(record.GetProperty("finished").GetBoolean());
        Assert.True(record.GetProperty("aborted").GetBoolean());
        Assert.False(record.GetProperty("completed").GetBoolean());
        Assert.False(record.GetProperty("cut").GetBoolean());
        Assert.Equal(1, record.GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task Client_giving_up_during_latency_is_recorded_as_aborted()
    {
        var tag = NewTag();
        using var cancel = new CancellationTokenSource();
        var pending = sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: [("x-sim-latency-ms", "600000"), ("x-sim-request-tag", tag)]), cancel.Token);

        var received = await RecordAsync(tag, wait: "received");
        Assert.True(received.GetProperty("received").GetBoolean());
        Assert.False(received.GetProperty("finished").GetBoolean());
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);

        var record = await RecordAsync(tag, wait: "finished");
        Assert.True(record.GetProperty("aborted").GetBoolean());
        Assert.Equal(0, record.GetProperty("responseBytes").GetInt32());
    }

    [Fact]
    public async Task Ttft_delay_comes_after_message_start()
    {
        var tag = NewTag();
        using var cancel = new CancellationTokenSource();
        var response = await SendStreamingAsync(sim.AnthropicPost("/v1/messages", StreamRequest, headers: [("x-sim-ttft-ms", "600000"), ("x-sim-request-tag", tag)]), cancel.Token);

        var first = await new SseStreamReader(await response.Content.ReadAsStreamAsync()).ReadFrameAsync(cancel.Token);
        var during = await RecordAsync(tag);
        response.Dispose();

        Assert.StartsWith("event: message_start", first);
        Assert.Equal(1, during.GetProperty("events").GetInt32());
        Assert.False(during.GetProperty("finished").GetBoolean());
        Assert.True((await RecordAsync(tag, wait: "finished")).GetProperty("aborted").GetBoolean());
    }

    [Fact]
    public async Task Tagged_requests_record_headers_with_credentials_hashed()
    {
        var tag = NewTag();
        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: [("x-sim-request-tag", tag), ("anthropic-beta", "prompt-caching-2024-07-31,oauth-2025-04-20")]));

        var record = await RecordAsync(tag, wait: "finished"); // "completed" is recorded once the handler has returned
        var headers = record.GetProperty("headers");

        Assert.True(record.GetProperty("received").GetBoolean());
        Assert.True(record.GetProperty("completed").GetBoolean());
        Assert.Equal(response.Headers.GetValues("request-id").Single(), record.GetProperty("requestId").GetString());
        Assert.Equal("/v1/messages", record.GetProperty("path").GetString());
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SimulatorFixture.ApiKey))), headers.GetProperty("x-api-key").GetString());
        Assert.DoesNotContain(SimulatorFixture.ApiKey, record.GetRawText());
        Assert.Equal("2023-06-01", headers.GetProperty("anthropic-version").GetString());
        Assert.Equal("prompt-caching-2024-07-31,oauth-2025-04-20", headers.GetProperty("anthropic-beta").GetString());
        Assert.False(headers.TryGetProperty("authorization", out _));
    }

    [Fact]
    public async Task Unknown_tags_are_not_found_and_untagged_requests_are_not_recorded()
    {
        using var untagged = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest));
        using var unknown = await sim.Http.GetAsync("/sim/requests/never-sent");
        using var unknownBody = await sim.Http.GetAsync("/sim/requests/never-sent/body");
        var waited = await RecordAsync("never-sent-either?timeoutMs=50&wait=received&x=");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.False(JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("received").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, unknownBody.StatusCode);
        Assert.False(waited.GetProperty("received").GetBoolean());
    }
}
