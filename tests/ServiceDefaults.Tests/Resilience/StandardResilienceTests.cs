using System.Net;
using System.Net.Http.Json;
using LlmGateway.ServiceDefaults.Resilience;
using LlmGateway.ServiceDefaults.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace LlmGateway.ServiceDefaults.Tests.Resilience;

public sealed class StandardResilienceTests
{
    private static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_503_is_retried_three_times_with_exponential_backoff_and_the_last_answer_returned()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Status(503));
        var start = fixture.Clock.GetUtcNow();

        var call = fixture.Client.GetAsync("/v1/items");
        foreach (var delay in new[] { 2, 4, 8 })
        {
            await fixture.Handler.NextAttemptAsync();
            await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(delay));
            fixture.Clock.Advance(TimeSpan.FromSeconds(delay));
        }

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(
            [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(14)],
            fixture.Handler.Sent.Select(s => s.At - start));
    }

    [Fact]
    public async Task With_default_jittered_backoff_a_transient_failure_is_retried_until_it_succeeds()
    {
        using var fixture = ResilientClient.Create(null, ScriptedHandler.Status(500), ScriptedHandler.Status(502), ScriptedHandler.Status(200));

        var call = fixture.Client.GetAsync("/v1/items");
        for (var retry = 0; retry < 2; retry++)
        {
            await fixture.Handler.NextAttemptAsync();
            var delay = await fixture.Clock.WaitForTimerAsync(due => due != TotalTimeout);
            fixture.Clock.Advance(delay);
        }

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, fixture.Handler.Sent.Count);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(504)]
    public async Task Transient_statuses_are_retried(int status)
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Status(status), ScriptedHandler.Status(200));

        var call = fixture.Client.GetAsync("/");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, fixture.Handler.Sent.Count);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(404)]
    [InlineData(409)]
    public async Task Other_failures_are_not_retried(int status)
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Status(status), ScriptedHandler.Status(200));

        using var response = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Single(fixture.Handler.Sent);
    }

    [Fact]
    public async Task Retry_After_in_seconds_sets_the_delay()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter,
            ScriptedHandler.Status(429, r => r.Headers.RetryAfter = new(TimeSpan.FromSeconds(7))),
            ScriptedHandler.Status(200));
        var start = fixture.Clock.GetUtcNow();

        var call = fixture.Client.GetAsync("/");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(7));
        fixture.Clock.Advance(TimeSpan.FromSeconds(7));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), fixture.Handler.Sent[1].At - start);
    }

    [Fact]
    public async Task Retry_After_as_an_HTTP_date_sets_the_delay()
    {
        var clock = new FakeTimeProvider();
        var retryAt = clock.GetUtcNow().AddSeconds(12);
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter,
            (_, _) =>
            {
                var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
                response.Headers.TryAddWithoutValidation("Retry-After", retryAt.ToString("R"));
                return Task.FromResult(response);
            },
            ScriptedHandler.Status(200));
        var start = fixture.Clock.GetUtcNow();
        Assert.Equal(clock.GetUtcNow(), start);

        var call = fixture.Client.GetAsync("/");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(12));
        fixture.Clock.Advance(TimeSpan.FromSeconds(12));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(12), fixture.Handler.Sent[1].At - start);
    }

    [Fact]
    public async Task A_Retry_After_longer_than_the_whole_budget_is_handed_back_instead_of_waited_for()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter,
            ScriptedHandler.Status(429, r => r.Headers.RetryAfter = new(TimeSpan.FromHours(1))),
            ScriptedHandler.Status(200));

        using var response = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromHours(1), response.Headers.RetryAfter?.Delta);
        Assert.Single(fixture.Handler.Sent);
    }

    [Fact]
    public async Task Connection_failures_are_retried()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter,
            ScriptedHandler.Throw(new HttpRequestException("connection refused")),
            ScriptedHandler.Status(200));

        var call = fixture.Client.GetAsync("/");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, fixture.Handler.Sent.Count);
    }

    [Fact]
    public async Task An_attempt_that_hangs_times_out_after_10_seconds_and_is_retried()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Hang(), ScriptedHandler.Status(200));
        var start = fixture.Clock.GetUtcNow();

        var call = fixture.Client.GetAsync("/");
        await fixture.Handler.NextAttemptAsync();
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(10));
        fixture.Clock.Advance(TimeSpan.FromSeconds(10));
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(12), fixture.Handler.Sent[1].At - start);
    }

    [Fact]
    public async Task The_total_timeout_ends_the_call_whatever_the_retries()
    {
        using var fixture = ResilientClient.Create(
            options => { ResilientClient.NoJitter(options); options.TotalRequestTimeout = TimeSpan.FromSeconds(15); },
            ScriptedHandler.Hang());

        var call = fixture.Client.GetAsync("/");
        await fixture.Handler.NextAttemptAsync();
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(10));
        fixture.Clock.Advance(TimeSpan.FromSeconds(10));
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        await fixture.Handler.NextAttemptAsync();
        fixture.Clock.Advance(TimeSpan.FromSeconds(3));

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, fixture.Handler.Sent.Count);
    }

    [Fact]
    public async Task The_circuit_opens_on_the_failure_ratio_and_half_opens_after_the_break()
    {
        using var fixture = ResilientClient.Create(
            options =>
            {
                options.Retry.MaxRetryAttempts = 0;
                options.CircuitBreaker.MinimumThroughput = 2;
                options.CircuitBreaker.FailureRatio = 0.5;
                options.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(5);
            },
            ScriptedHandler.Status(500), ScriptedHandler.Status(500), ScriptedHandler.Status(200));

        for (var i = 0; i < 2; i++)
        {
            using var failed = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        // Open: rejected without reaching the upstream.
        await Assert.ThrowsAsync<BrokenCircuitException>(() => fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, fixture.Handler.Sent.Count);

        // Still open just before the break ends.
        fixture.Clock.Advance(TimeSpan.FromSeconds(4.9));
        await Assert.ThrowsAsync<BrokenCircuitException>(() => fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, fixture.Handler.Sent.Count);

        // Half-open: one probe goes through; its success closes the circuit.
        fixture.Clock.Advance(TimeSpan.FromSeconds(0.1));
        using (var probe = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }

        using var afterwards = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
        Assert.Equal(4, fixture.Handler.Sent.Count);
    }

    [Fact]
    public async Task A_failed_half_open_probe_opens_the_circuit_again()
    {
        using var fixture = ResilientClient.Create(
            options =>
            {
                options.Retry.MaxRetryAttempts = 0;
                options.CircuitBreaker.MinimumThroughput = 2;
                options.CircuitBreaker.FailureRatio = 1;
                options.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(5);
            },
            ScriptedHandler.Status(503));

        for (var i = 0; i < 2; i++)
        {
            (await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30))).Dispose();
        }

        fixture.Clock.Advance(TimeSpan.FromSeconds(5));
        using (var probe = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, probe.StatusCode);
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(() => fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(3, fixture.Handler.Sent.Count);
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_are_rejected_without_being_sent()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var fixture = ResilientClient.Create(
            options => options.ConcurrencyLimit.PermitLimit = 1,
            async (_, _) =>
            {
                await release.Task;
                return new HttpResponseMessage(HttpStatusCode.OK);
            });

        var first = fixture.Client.GetAsync("/");
        await fixture.Handler.NextAttemptAsync();

        await Assert.ThrowsAsync<ConcurrencyLimitRejectedException>(() => fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Single(fixture.Handler.Sent);

        release.SetResult();
        using var response = await first.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The permit is back.
        using var next = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task A_streamed_request_body_is_buffered_and_sent_again_on_retry()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Status(503), ScriptedHandler.Status(200));
        var body = new NonSeekableStream("{\"model\":\"claude\"}"u8.ToArray());

        var call = fixture.Client.PostAsync("/v1/messages", new StreamContent(body));
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["{\"model\":\"claude\"}", "{\"model\":\"claude\"}"], fixture.Handler.Sent.Select(s => s.Body));
    }

    [Fact]
    public async Task Each_attempt_is_a_fresh_copy_of_the_callers_request()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter, ScriptedHandler.Status(503), ScriptedHandler.Status(200));
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/items/7") { Content = JsonContent.Create(new { name = "seven" }) };
        request.Headers.Add("x-request-id", "abc");
        request.Options.Set(new HttpRequestOptionsKey<string>("tenant"), "t1");

        var call = fixture.Client.SendAsync(request);
        var first = await fixture.Handler.NextAttemptAsync();
        first.Message.Headers.Add("x-added-by-inner-handler", "1");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));

        var second = fixture.Handler.Sent[1];
        Assert.NotSame(first.Message, second.Message);
        Assert.NotSame(request, second.Message);
        Assert.Equal(HttpMethod.Put, second.Message.Method);
        Assert.Equal("abc", second.Headers["x-request-id"]);
        Assert.False(second.Headers.ContainsKey("x-added-by-inner-handler"));
        Assert.True(second.Message.Options.TryGetValue(new HttpRequestOptionsKey<string>("tenant"), out var tenant) && tenant == "t1");
        Assert.Equal("{\"name\":\"seven\"}", second.Body);
        Assert.False(request.Headers.Contains("x-added-by-inner-handler"));
    }

    [Fact]
    public async Task A_client_opted_out_with_WithoutStandardResilience_sends_once()
    {
        using var fixture = ResilientClient.Create(null, null, client => client.WithoutStandardResilience(), ScriptedHandler.Status(503));

        using var response = await fixture.Client.GetAsync("/").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(fixture.Handler.Sent);
        Assert.Equal(Timeout.InfiniteTimeSpan, fixture.Client.Timeout);
    }

    [Fact]
    public async Task Settings_come_from_the_HttpResilience_configuration_section()
    {
        using var fixture = ResilientClient.Create(null,
            new Dictionary<string, string?>
            {
                ["HttpResilience:Retry:MaxRetryAttempts"] = "1",
                ["HttpResilience:Retry:Delay"] = "00:00:00.250",
                ["HttpResilience:Retry:UseJitter"] = "false",
            },
            null,
            ScriptedHandler.Status(503));

        var call = fixture.Client.GetAsync("/");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromMilliseconds(250));
        fixture.Clock.Advance(TimeSpan.FromMilliseconds(250));

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(2, fixture.Handler.Sent.Count);
    }

    [Fact]
    public void Every_client_gets_the_standard_defaults_and_an_infinite_HttpClient_timeout()
    {
        using var fixture = ResilientClient.Create(null);
        var options = fixture.Services.GetRequiredService<IOptionsMonitor<HttpResilienceOptions>>().Get(ResilientClient.ClientName);

        Assert.Equal(Timeout.InfiniteTimeSpan, fixture.Client.Timeout);
        Assert.Equal(1000, options.ConcurrencyLimit.PermitLimit);
        Assert.Equal(0, options.ConcurrencyLimit.QueueLimit);
        Assert.Equal(TimeSpan.FromSeconds(30), options.TotalRequestTimeout);
        Assert.Equal(3, options.Retry.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Retry.Delay);
        Assert.True(options.Retry.UseJitter);
        Assert.True(options.Retry.ShouldRetryAfterHeader);
        Assert.Equal(0.1, options.CircuitBreaker.FailureRatio);
        Assert.Equal(100, options.CircuitBreaker.MinimumThroughput);
        Assert.Equal(TimeSpan.FromSeconds(30), options.CircuitBreaker.SamplingDuration);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreaker.BreakDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), options.AttemptTimeout);
    }

    [Fact]
    public void Inconsistent_settings_are_rejected_with_a_message_naming_them()
    {
        // The pipeline is built with the client's first handler, i.e. at CreateClient.
        var exception = Assert.Throws<OptionsValidationException>(
            () => ResilientClient.Create(options => options.AttemptTimeout = TimeSpan.FromMinutes(5)).Dispose());

        Assert.Contains("AttemptTimeout", exception.Message);
        Assert.Contains(ResilientClient.ClientName, exception.Message);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
