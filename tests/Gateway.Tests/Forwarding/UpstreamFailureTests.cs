using System.Net;
using System.Text.Json;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class ShortTimeoutGatewayFixture : GatewayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // Short enough for the tests, long enough that a request reaches the fake upstream (and a quick answer comes
        // back) before it runs out even on a slow, loaded machine.
        ["Upstream:FirstByteTimeout"] = "00:00:01.500",
        // Longer than the gaps of the slow stream below, so only a real stall ends a stream.
        ["Upstream:ActivityTimeout"] = "00:00:04",
        ["Upstream:MaxRetries"] = "2",
        ["Upstream:MaxRetryDelay"] = "00:00:02",
    };
}

/// <summary>Failures before the response started: retried when the policy allows, otherwise answered in Anthropic's shape.</summary>
public sealed class UpstreamFailureTests(ShortTimeoutGatewayFixture fixture) : IClassFixture<ShortTimeoutGatewayFixture>
{
    private const string Body = """{"model":"claude-x","max_tokens":5,"messages":[]}""";

    private static async Task<string> ErrorTypeAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("error").GetProperty("type").GetString()!;
    }

    [Theory]
    [InlineData(529)]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(408)]
    [InlineData(409)]
    public async Task Retryable_statuses_are_retried_before_the_first_byte(int status)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var attempts = 0;
        fixture.Upstream.Handler = async context =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
            {
                context.Response.StatusCode = status;
                context.Response.Headers["retry-after"] = "0";
                await context.Response.WriteAsync("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"id":"msg_ok","usage":{"input_tokens":1,"output_tokens":1}}""");
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, attempts);
        // The same body went every time.
        Assert.All(fixture.Upstream.Requests.TakeLast(3), r => Assert.Equal(Body, System.Text.Encoding.UTF8.GetString(r.Body)));
    }

    [Fact]
    public async Task When_retries_run_out_the_last_upstream_answer_is_passed_through()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var attempts = 0;
        fixture.Upstream.Handler = async context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = 529;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""");
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));
        Assert.Equal(529, (int)response.StatusCode);
        Assert.Equal(3, attempts);
        Assert.Equal("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", await response.Content.ReadAsStringAsync());
        // The gateway spent its retries: the SDK must not multiply them (3 here × 3 in the SDK).
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
    }

    [Theory]
    [InlineData(401, "authentication_error", "invalid x-api-key")]
    [InlineData(403, "permission_error", "Your API key does not have permission to use the specified resource.")]
    public async Task An_upstream_refusing_the_gateways_key_is_a_502_api_error_not_the_callers_invalid_key(int status, string type, string message)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var attempts = 0;
        fixture.Upstream.Handler = async context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$$"""{"type":"error","error":{"type":"{{{type}}}","message":"{{{message}}}"}}""");
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, attempts);
        Assert.Equal("api_error", await ErrorTypeAsync(response));
        Assert.Contains("provider credential; the gateway operator", text, StringComparison.Ordinal);
        Assert.DoesNotContain(message, text, StringComparison.Ordinal);
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
    }

    [Fact]
    public async Task Client_errors_and_a_final_no_retry_are_not_retried()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var attempts = 0;
        fixture.Upstream.Handler = context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = attempts == 1 ? 400 : 500;
            return Task.CompletedTask;
        };
        using (var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal(1, attempts);

        attempts = 0;
        fixture.Upstream.Handler = context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = 500;
            context.Response.Headers["x-should-retry"] = "false";
            return Task.CompletedTask;
        };
        using (var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body)))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task No_answer_within_the_first_byte_timeout_is_504_timeout_error_and_the_upstream_call_is_cancelled()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.ResetAborted();
        var aborted = fixture.Upstream.Aborted.Task;
        fixture.Upstream.Handler = context => Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout_error", await ErrorTypeAsync(response));
        await aborted.WaitAsync(TimeSpan.FromSeconds(30));
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("upstream_timeout", usage["error_type"]);
        Assert.Equal("504", usage["status"]);
    }

    [Fact]
    public async Task A_slow_stream_is_not_cut_by_the_first_byte_timeout()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(2500)); // well past the first-byte timeout
            await context.Response.WriteAsync("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        };

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", text);
        Assert.DoesNotContain("event: error", text);
    }

    [Fact]
    public async Task A_stream_that_stalls_after_it_started_ends_with_a_timeout_error_event_within_the_activity_timeout()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.ResetAborted();
        var aborted = fixture.Upstream.Aborted.Task;
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted); // stalls, connection open
        };

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, """{"model":"m","max_tokens":5,"stream":true}"""));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"the stream ended after {started.Elapsed}");
        Assert.StartsWith("event: message_start", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);
        Assert.Contains("timeout_error", text, StringComparison.Ordinal);
        await aborted.WaitAsync(TimeSpan.FromSeconds(30));
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal(("upstream_stream_stalled", "1", "3"), (usage["error_type"], usage["estimated"], usage["input_tokens"]));
    }
}

public sealed class UnreachableUpstreamTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private InProcessGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        // Nothing listens on this port.
        _gateway = await InProcessGateway.StartAsync(_redis, new Uri($"http://127.0.0.1:{RedisServer.FreePort()}"),
            new Dictionary<string, string?> { ["Upstream:MaxRetries"] = "1" });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task An_unreachable_upstream_is_502_api_error()
    {
        using var redis = _redis.Connect();
        var (secret, _) = await TestCredentials.CreateAsync(redis);
        using var client = _gateway.CreateClient();
        using var response = await client.SendAsync(GatewayFixture.Messages(secret, """{"model":"m","max_tokens":1}"""));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, $"{(int)response.StatusCode} {text}");
        using var document = JsonDocument.Parse(text);
        Assert.Equal("api_error", document.RootElement.GetProperty("error").GetProperty("type").GetString());
        var usage = await UsageStream.WaitForAsync(redis, response.Headers.GetValues("request-id").Single());
        Assert.Equal("upstream_unreachable", usage["error_type"]);
        Assert.Equal("0", usage["estimated"]);
    }
}
