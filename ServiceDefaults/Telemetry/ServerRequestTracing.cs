using System.Diagnostics;
using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmGateway.ServiceDefaults.Telemetry;

/// <summary>
/// What OpenTelemetry.Instrumentation.AspNetCore (which does not restore) would do for the server span that
/// ASP.NET Core starts: name it "METHOD route", tag it with the HTTP semantic conventions, mark 5xx and
/// exceptions as errors, and drop the spans of the health probes (<c>/health</c>, <c>/alive</c>).
/// Runs first in the pipeline (an <see cref="IStartupFilter"/>), so it sees every request.
/// </summary>
internal sealed class ServerRequestTracingMiddleware(RequestDelegate next)
{
    private const string HostingActivityName = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public Task InvokeAsync(HttpContext context)
    {
        // ASP.NET Core also starts an activity when nothing listens to its source (so that logs carry trace ids);
        // such an activity is never collected, so it is not worth a tag.
        var activity = Activity.Current;
        return activity is null || activity.OperationName != HostingActivityName || !activity.Source.HasListeners()
            ? next(context)
            : TraceAsync(context, activity);
    }

    private async Task TraceAsync(HttpContext context, Activity activity)
    {
        var request = context.Request;
        if (HealthEndpointPaths.IsHealthProbe(request.Path))
        {
            // Unrecorded spans are not exported, and children sampled from this parent are dropped too.
            activity.IsAllDataRequested = false;
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            await next(context).ConfigureAwait(false);
            return;
        }

        if (!activity.IsAllDataRequested)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var method = request.Method;
        activity.DisplayName = method;
        activity.SetTag("http.request.method", method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port)
        {
            activity.SetTag("server.port", port);
        }

        if (request.Protocol.StartsWith("HTTP/", StringComparison.Ordinal))
        {
            activity.SetTag("network.protocol.version", request.Protocol[5..]);
        }

        if (request.Headers.UserAgent is { Count: > 0 } userAgent)
        {
            activity.SetTag("user_agent.original", userAgent.ToString());
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity.AddException(exception);
            TagRoute(activity, context, method);
            throw;
        }

        TagRoute(activity, context, method);
        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    private static void TagRoute(Activity activity, HttpContext context, string method)
    {
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route })
        {
            activity.DisplayName = $"{method} {route}";
            activity.SetTag("http.route", route);
        }
    }
}

internal sealed class ServerRequestTracingStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ServerRequestTracingMiddleware>();
        next(app);
    };
}
