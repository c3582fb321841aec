using System.Diagnostics;
using System.Net;
using LlmGateway.ServiceDefaults.Tests.Fakes;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LlmGateway.ServiceDefaults.Tests.Telemetry;

/// <summary>
/// End to end through the real OpenTelemetry SDK and OTLP exporter: a service with the defaults, pointed at an
/// OTLP/HTTP collector by the standard OTEL_* settings, exports traces, logs and metrics under its
/// OTEL_SERVICE_NAME, and leaves the probes out of its traces.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Traces_logs_and_metrics_reach_the_collector_named_by_OTEL_settings()
    {
        await using var collector = await OtlpReceiver.StartHttpAsync();
        var requestTrace = ActivityTraceId.CreateRandom();
        var probeTrace = ActivityTraceId.CreateRandom();

        var service = await TestService.StartAsync(
            configureApp: app => app.MapGet("/otel/items/{id}", (int id, ILogger<OtlpExportTests> logger) =>
            {
                logger.LogInformation("Served item {ItemId}", id);
                return "ok";
            }),
            configuration: new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_SERVICE_NAME"] = "otel-test-service",
                ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=abc12345,deployment.environment=test",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "100000",
            });
        await using (service)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(service, "/otel/items/7", requestTrace)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(service, "/health", probeTrace)).StatusCode);
        }

        // Disposing the service disposed its providers, which flushed everything to the collector.
        // Server spans only: the test's own HttpClient calls are traced too (same process).
        var spans = collector.Requests("traces").SelectMany(OtlpProtobuf.Spans).Where(s => s.Scope == "Microsoft.AspNetCore").ToList();
        var span = Assert.Single(spans, s => s.TraceId == requestTrace.ToHexString());
        Assert.Equal("GET /otel/items/{id}", span.Name);
        Assert.Equal("Microsoft.AspNetCore", span.Scope);
        Assert.Equal("/otel/items/7", span.Attributes["url.path"]);
        Assert.Equal("otel-test-service", span.Resource["service.name"]);
        Assert.Equal("abc12345", span.Resource["service.instance.id"]);
        Assert.Equal("test", span.Resource["deployment.environment"]);
        Assert.DoesNotContain(spans, s => s.TraceId == probeTrace.ToHexString());

        var logs = collector.Requests("logs").SelectMany(OtlpProtobuf.Logs).ToList();
        var log = Assert.Single(logs, l => l.Body == "Served item 7");
        Assert.Equal(requestTrace.ToHexString(), log.TraceId);
        Assert.Equal("otel-test-service", log.Resource["service.name"]);

        var metrics = collector.Requests("metrics").SelectMany(OtlpProtobuf.Metrics).ToList();
        Assert.Contains(metrics, m => m.Name == "http.server.request.duration" && m.Resource["service.name"] == "otel-test-service");
    }

    [Fact]
    public async Task Nothing_is_exported_without_OTEL_EXPORTER_OTLP_ENDPOINT()
    {
        // Listen where an OTLP/HTTP exporter without an endpoint would send (the protocol's default port), so
        // an exporter added regardless of OTEL_EXPORTER_OTLP_ENDPOINT would be caught.
        await using var collector = await OtlpReceiver.StartHttpAsync("http://localhost:4318");

        var service = await TestService.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "no-export-service",
        });
        await using (service)
        {
            await service.Client.GetStringAsync("/alive");
        }

        Assert.Empty(collector.Requests("traces"));
        Assert.Empty(collector.Requests("logs"));
        Assert.Empty(collector.Requests("metrics"));
    }

    [Fact]
    public async Task The_grpc_protocol_is_honoured()
    {
        await using var collector = await OtlpReceiver.StartGrpcAsync();
        var requestTrace = ActivityTraceId.CreateRandom();

        var service = await TestService.StartAsync(
            configureApp: app => app.MapGet("/otel/grpc", () => "ok"),
            configuration: new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
                ["OTEL_SERVICE_NAME"] = "otel-grpc-service",
            });
        await using (service)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(service, "/otel/grpc", requestTrace)).StatusCode);
        }

        var span = Assert.Single(collector.Requests("traces").SelectMany(OtlpProtobuf.Spans), s => s.TraceId == requestTrace.ToHexString() && s.Scope == "Microsoft.AspNetCore");
        Assert.Equal("GET /otel/grpc", span.Name);
        Assert.Equal("otel-grpc-service", span.Resource["service.name"]);
    }

    private static async Task<HttpResponseMessage> SendAsync(TestService service, string path, ActivityTraceId traceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        // The service's tracer listens to every HttpClient in this process: this one must send the trace it is given.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = service.Client.BaseAddress };
        return await client.SendAsync(request);
    }
}
