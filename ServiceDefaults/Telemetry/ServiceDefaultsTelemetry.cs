namespace LlmGateway.ServiceDefaults.Telemetry;

/// <summary>The ActivitySources and Meters OpenTelemetry listens to (what Aspire's instrumentation packages subscribe to).</summary>
public static class ServiceDefaultsTelemetry
{
    /// <summary>Every service names its own ActivitySource and Meter <c>LlmGateway.&lt;Service&gt;</c>.</summary>
    public const string ApplicationSourcePattern = "LlmGateway.*";

    /// <summary>The meter of ServiceDefaults itself (resilience events).</summary>
    public const string MeterName = "LlmGateway.ServiceDefaults";

    /// <summary>ASP.NET Core's server spans come from this source; it creates them only while someone listens.</summary>
    public const string AspNetCoreActivitySource = "Microsoft.AspNetCore";

    /// <summary>HttpClient's client spans (with semantic-convention tags since .NET 9).</summary>
    public const string HttpClientActivitySource = "System.Net.Http";

    internal static readonly string[] Meters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "System.Net.Http",
        "System.Net.NameResolution",
        "System.Runtime",
        ApplicationSourcePattern,
    ];
}
