using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Gateway.Tests.Unit;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class TelemetryTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task A_request_produces_a_genai_span_and_metrics()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "LlmGateway.Gateway",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(activities);

        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "LlmGateway.Gateway")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        meters.Start();

        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(SseUsageReaderTests.TextStream));
        };
        const string model = "claude-telemetry-test";
        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, $$"""{"model":"{{model}}","max_tokens":64,"stream":true}"""));
        await response.Content.ReadAsStringAsync();
        var requestId = response.Headers.GetValues("request-id").Single();
        await UsageStream.WaitForAsync(fixture.RedisClient, requestId);

        // The gateway finishes its own bookkeeping after the client has the last byte (and after it queued the usage
        // event): the metrics are recorded, then the span stops. Wait for the span rather than race that thread.
        bool Stopped() => spans.Any(s => (string?)s.GetTagItem("llmgateway.request_id") == requestId);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Stopped() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var span = Assert.Single(spans, s => (string?)s.GetTagItem("llmgateway.request_id") == requestId);
        Assert.Equal("chat " + model, span.DisplayName);
        Assert.Equal("anthropic", span.GetTagItem("gen_ai.system"));
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal(model, span.GetTagItem("gen_ai.request.model"));
        Assert.Equal("claude-sonnet-4-5-20250929", span.GetTagItem("gen_ai.response.model"));
        Assert.Equal(25L, span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(15L, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(["end_turn"], (string[])span.GetTagItem("gen_ai.response.finish_reasons")!);

        bool ForModel((string Instrument, double Value, Dictionary<string, object?> Tags) m, string name) =>
            m.Instrument == name && (string?)m.Tags.GetValueOrDefault("gen_ai.request.model") == model;
        var tokens = measurements.Where(m => ForModel(m, "gen_ai.client.token.usage")).ToList();
        Assert.Contains(tokens, m => (string?)m.Tags["gen_ai.token.type"] == "input" && m.Value == 25 + 7 + 3);
        Assert.Contains(tokens, m => (string?)m.Tags["gen_ai.token.type"] == "output" && m.Value == 15);
        Assert.Contains(measurements, m => ForModel(m, "gen_ai.server.request.duration"));
        Assert.Contains(measurements, m => ForModel(m, "gen_ai.server.time_to_first_token"));
        Assert.Contains(measurements, m => ForModel(m, "llmgateway.gateway.overhead"));
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in tags)
        {
            result[key] = value;
        }

        return result;
    }
}
