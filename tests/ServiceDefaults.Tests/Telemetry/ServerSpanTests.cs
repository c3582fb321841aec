using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.ServiceDefaults.Tests.Telemetry;

/// <summary>
/// The server span ASP.NET Core starts is named and tagged like OpenTelemetry's AspNetCore instrumentation
/// would, and the probes' spans are not recorded. Requests carry their own traceparent so each test finds
/// its own spans among everything the process produces.
/// </summary>
public sealed class ServerSpanTests : IDisposable
{
    private readonly ConcurrentDictionary<ActivityTraceId, TaskCompletionSource<Activity>> _serverSpans = new();
    private readonly ActivityListener _listener;

    public ServerSpanTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Kind == ActivityKind.Server)
                {
                    SpanSlot(activity.TraceId).TrySetResult(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_request_span_is_named_after_its_route_and_tagged_with_the_http_conventions()
    {
        await using var service = await TestService.StartAsync(configureApp: app => app.MapGet("/items/{id}", (int id) => $"item {id}"));
        var traceId = ActivityTraceId.CreateRandom();

        using var response = await SendWithTraceAsync(service, "/items/42?verbose=1", traceId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var span = await SpanOfAsync(traceId);
        Assert.Equal("GET /items/{id}", span.DisplayName);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.True(span.Recorded);
        Assert.Equal("GET", span.GetTagItem("http.request.method"));
        Assert.Equal("/items/42", span.GetTagItem("url.path"));
        Assert.Equal("http", span.GetTagItem("url.scheme"));
        Assert.Equal("/items/{id}", span.GetTagItem("http.route"));
        Assert.Equal(200, span.GetTagItem("http.response.status_code"));
        Assert.Equal("127.0.0.1", span.GetTagItem("server.address"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
    }

    [Fact]
    public async Task A_failing_request_marks_its_span_as_an_error()
    {
        await using var service = await TestService.StartAsync(configureApp: app =>
        {
            app.MapGet("/boom", (HttpContext _) => { throw new InvalidOperationException("boom"); });
            app.MapGet("/unavailable", () => Results.StatusCode(503));
        });
        var thrownTrace = ActivityTraceId.CreateRandom();
        var statusTrace = ActivityTraceId.CreateRandom();

        using var thrown = await SendWithTraceAsync(service, "/boom", thrownTrace);
        using var unavailable = await SendWithTraceAsync(service, "/unavailable", statusTrace);

        Assert.Equal(HttpStatusCode.InternalServerError, thrown.StatusCode);
        var thrownSpan = await SpanOfAsync(thrownTrace);
        Assert.Equal(ActivityStatusCode.Error, thrownSpan.Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, thrownSpan.GetTagItem("error.type"));
        Assert.Contains(thrownSpan.Events, e => e.Name == "exception");

        var statusSpan = await SpanOfAsync(statusTrace);
        Assert.Equal(ActivityStatusCode.Error, statusSpan.Status);
        Assert.Equal("503", statusSpan.GetTagItem("error.type"));
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Probe_requests_are_not_recorded(string path)
    {
        await using var service = await TestService.StartAsync();
        var traceId = ActivityTraceId.CreateRandom();

        using var response = await SendWithTraceAsync(service, path, traceId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var span = await SpanOfAsync(traceId);
        Assert.False(span.Recorded);
        Assert.False(span.IsAllDataRequested);
        Assert.Null(span.GetTagItem("url.path"));
    }

    private static async Task<HttpResponseMessage> SendWithTraceAsync(TestService service, string path, ActivityTraceId traceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        return await service.Client.SendAsync(request);
    }

    /// <summary>The server span of <paramref name="traceId"/>; it stops just after the response is sent.</summary>
    private Task<Activity> SpanOfAsync(ActivityTraceId traceId) => SpanSlot(traceId).Task.WaitAsync(TimeSpan.FromSeconds(30));

    private TaskCompletionSource<Activity> SpanSlot(ActivityTraceId traceId) =>
        _serverSpans.GetOrAdd(traceId, _ => new TaskCompletionSource<Activity>(TaskCreationOptions.RunContinuationsAsynchronously));
}
