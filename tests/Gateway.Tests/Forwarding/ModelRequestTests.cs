using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Gateway.Tests.Unit;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class ModelRequestTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string MessageJson =
        """{"model":"claude-opus-4-6","usage":{"input_tokens":9,"output_tokens":21,"cache_creation_input_tokens":2,"cache_read_input_tokens":4},"content":[{"text":"Hi","type":"text"}],"id":"msg_01","type":"message","role":"assistant","stop_reason":"end_turn","stop_sequence":null}""";

    [Fact]
    public async Task A_message_is_forwarded_with_the_real_key_and_answered_unchanged_with_one_usage_event()
    {
        var (secret, projection) = await fixture.CreateCredentialAsync(models: ["claude-*"]);
        fixture.Upstream.Handler = async context =>
        {
            context.Response.Headers["request-id"] = "req_upstream_1";
            context.Response.Headers["anthropic-ratelimit-requests-remaining"] = "41";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(MessageJson);
        };
        const string body = """{"model":"claude-opus-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}""";
        using var request = GatewayFixture.Messages(secret, body, "/v1/messages?beta=true");
        request.Headers.TryAddWithoutValidation("anthropic-beta", "context-management-2025-06-27,oauth-2025-04-20");
        request.Headers.TryAddWithoutValidation("x-sim-output-tokens", "21");

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MessageJson, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("41", response.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single());
        Assert.Equal("req_upstream_1", response.Headers.GetValues("upstream-request-id").Single());
        var requestId = response.Headers.GetValues("request-id").Single();
        Assert.StartsWith("req_", requestId);

        var seen = fixture.Upstream.Requests.Last();
        Assert.Equal("/v1/messages?beta=true", seen.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(seen.Body));
        Assert.Equal(TestSecrets.UpstreamKey, seen.Header("x-api-key"));
        Assert.Null(seen.Header("Authorization"));
        Assert.Equal("2023-06-01", seen.Header("anthropic-version"));
        Assert.Equal("context-management-2025-06-27,oauth-2025-04-20", seen.Header("anthropic-beta"));
        Assert.Equal("21", seen.Header("x-sim-output-tokens"));

        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, requestId);
        Assert.Equal(projection.Id, usage["credential_id"]);
        Assert.Equal("api_key", usage["credential_kind"]);
        Assert.Equal("organization", usage["owner_type"]);
        Assert.Equal("org_test", usage["owner_id"]);
        Assert.Equal("claude-opus-4-6", usage["model"]);
        Assert.Equal("/v1/messages", usage["route"]);
        Assert.Equal("200", usage["status"]);
        Assert.Equal("9", usage["input_tokens"]);
        Assert.Equal("21", usage["output_tokens"]);
        Assert.Equal("2", usage["cache_creation_input_tokens"]);
        Assert.Equal("4", usage["cache_read_input_tokens"]);
        Assert.Equal("0", usage["stream"]);
        Assert.Equal("0", usage["estimated"]);
        Assert.False(usage.ContainsKey("error_type"));
        Assert.Equal(1, (await UsageStream.ReadAllAsync(fixture.RedisClient)).Count(e => e["request_id"] == requestId));
    }

    [Fact]
    public async Task Upstream_error_bodies_reach_the_client_unmodified()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        const string error = """{"type":"error","error":{"type":"invalid_request_error","message":"messages: Field required"},"request_id":"req_up"}""";
        fixture.Upstream.Handler = async context =>
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(error);
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, """{"model":"claude-x","max_tokens":1}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, await response.Content.ReadAsStringAsync());
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("400", usage["status"]);
        Assert.Equal("invalid_request_error", usage["error_type"]);
    }

    [Fact]
    public async Task Streamed_bytes_equal_what_the_upstream_sent_and_usage_is_read_on_the_side()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            var bytes = Encoding.UTF8.GetBytes(SseUsageReaderTests.TextStream);
            // Odd-sized writes so events straddle reads.
            for (var i = 0; i < bytes.Length; i += 37)
            {
                await context.Response.Body.WriteAsync(bytes.AsMemory(i, Math.Min(37, bytes.Length - i)));
                await context.Response.Body.FlushAsync();
            }
        };

        using var request = GatewayFixture.Messages(secret, """{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[]}""");
        using var response = await fixture.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(SseUsageReaderTests.TextStream, await response.Content.ReadAsStringAsync());
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("1", usage["stream"]);
        Assert.Equal("25", usage["input_tokens"]);
        Assert.Equal("15", usage["output_tokens"]);
        Assert.Equal("7", usage["cache_creation_input_tokens"]);
        Assert.Equal("3", usage["cache_read_input_tokens"]);
        Assert.Equal("0", usage["estimated"]);
        Assert.True(usage.ContainsKey("ttfb_ms"));
    }

    [Fact]
    public async Task Each_event_reaches_the_client_before_the_upstream_sends_the_next()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var clientSawFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const string first = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";
        const string rest = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(first);
            await context.Response.Body.FlushAsync();
            // The next event is withheld until the client has the first one through the gateway.
            await clientSawFirst.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync(rest);
        };

        using var response = await fixture.Client.SendAsync(
            GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var received = await ReadAtLeastAsync(stream, first.Length);
        Assert.Equal(first, received);
        clientSawFirst.SetResult();
        Assert.Equal(rest, await new StreamReader(stream).ReadToEndAsync());
    }

    [Fact]
    public async Task The_stream_is_visibly_open_before_its_first_event()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var headersSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.StartAsync();
            await context.Response.Body.FlushAsync();
            await headersSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        };

        using var response = await fixture.Client.SendAsync(
            GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""), HttpCompletionOption.ResponseHeadersRead)
            .WaitAsync(TimeSpan.FromSeconds(30));
        headersSeen.SetResult();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("event: message_stop", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_upstream_cut_ends_the_stream_with_an_error_event_and_estimated_usage()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        const string start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n";
        var clientHasStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(start + "event: content_block_delta\ndata: {\"type\":\"content_bl");
            await context.Response.Body.FlushAsync();
            // Cut only once the stream is known to have started (a reset can destroy bytes still in flight).
            await clientHasStart.Task.WaitAsync(TimeSpan.FromSeconds(30));
            context.Abort();
        };

        using var response = await fixture.Client.SendAsync(
            GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var text = await ReadAtLeastAsync(stream, start.Length);
        clientHasStart.SetResult();
        text += await new StreamReader(stream).ReadToEndAsync();

        Assert.StartsWith(start + "event: error\ndata: ", text);
        Assert.EndsWith("\n\n", text);
        using var error = JsonDocument.Parse(text[(start.Length + "event: error\ndata: ".Length)..].Trim());
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        var requestId = response.Headers.GetValues("request-id").Single();
        Assert.Equal(requestId, error.RootElement.GetProperty("request_id").GetString());

        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, requestId);
        Assert.Equal("1", usage["estimated"]);
        Assert.Equal("30", usage["input_tokens"]);
        Assert.Equal("upstream_stream_cut", usage["error_type"]);
    }

    [Fact]
    public async Task A_stream_that_ends_without_message_stop_is_not_a_clean_end()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        const string start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n";
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(start);
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith(start + "event: error\n", text);
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_stream_cancels_the_upstream_call_and_usage_is_estimated()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.ResetAborted();
        var upstreamAborted = fixture.Upstream.Aborted.Task;
        const string start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":44,\"output_tokens\":1}}}\n\n";
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(start);
            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };

        using var client = fixture.Gateway.CreateClient();
        var response = await client.SendAsync(
            GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        var requestId = response.Headers.GetValues("request-id").Single();
        var stream = await response.Content.ReadAsStreamAsync();
        await ReadAtLeastAsync(stream, start.Length);
        response.Dispose(); // the client goes away

        await upstreamAborted.WaitAsync(TimeSpan.FromSeconds(30));
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, requestId);
        Assert.Equal("1", usage["estimated"]);
        Assert.Equal("44", usage["input_tokens"]);
        Assert.Equal("499", usage["status"]);
        Assert.Equal("client_disconnected", usage["error_type"]);
    }

    [Fact]
    public async Task Count_tokens_is_forwarded_and_consumes_nothing()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"input_tokens":14}""");
        };

        using var response = await fixture.Client.SendAsync(
            GatewayFixture.Messages(secret, """{"model":"claude-x","messages":[]}""", "/v1/messages/count_tokens?beta=true"));

        Assert.Equal("""{"input_tokens":14}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("/v1/messages/count_tokens?beta=true", fixture.Upstream.Requests.Last().PathAndQuery);
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("/v1/messages/count_tokens", usage["route"]);
        Assert.Equal("0", usage["input_tokens"]);
    }

    internal static async Task<string> ReadAtLeastAsync(Stream stream, int bytes)
    {
        var buffer = new byte[bytes];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(buffer);
    }
}
