using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using LlmGateway.Testing;
using LlmGateway.Benchmarks;

// The gateway's cost against the direct path, in one run: the same load generator drives the upstream simulator
// directly and through the Gateway (auth, limits and usage events on; Redis and PostgreSQL real).
//   dotnet run -c Release --project bench/Benchmarks [-- --quick] [--output bench-results/latest.json]
//   dotnet run -c Release --project bench/Benchmarks -- --serve   (start the app, print targets, wait: for wrk, perf)
//   dotnet run -c Release --project bench/Benchmarks -- --redis-client stackexchange   (the hot path on StackExchange.Redis)
//   dotnet run -c Release --project bench/Benchmarks -- --no-leases   (every admission its own Redis call: Limits:Leases:Enabled=false)
//   dotnet run -c Release --project bench/Benchmarks -- --serve --perf-map   (the gateway writes /tmp/perf-PID.map: `perf record` names its JIT frames)
//   dotnet run -c Release --project bench/Benchmarks -- --dcp-proxy   (keep DCP's development proxy in front of the simulator and the gateway)
//   dotnet run -c Release --project bench/Benchmarks -- --gateway-env NAME=VALUE   (an environment variable for the gateway alone; repeatable)
var quick = args.Contains("--quick");
var outputIndex = Array.IndexOf(args, "--output");
var output = outputIndex >= 0 && outputIndex + 1 < args.Length ? args[outputIndex + 1] : Path.Combine("bench-results", "latest.json");
var scale = quick ? 0.2 : 1.0;

Console.WriteLine($"Starting the app (Redis, PostgreSQL, TokenService, UsageWorker, Gateway, simulator) in {BuildInfoText()}...");
// --redis-client stackexchange: the hot path's scripts over StackExchange.Redis instead of the gateway's RESP connection.
var redisClientIndex = Array.IndexOf(args, "--redis-client");
var redisClient = redisClientIndex >= 0 && redisClientIndex + 1 < args.Length ? args[redisClientIndex + 1] : "resp";
Console.WriteLine($"Hot-path Redis client: {redisClient}");
var builder = TestAppBuilder.Create();
if (string.Equals(redisClient, "stackexchange", StringComparison.OrdinalIgnoreCase))
{
    builder = builder.WithEnvironment("gateway", "Gateway__HotPathRedis", "StackExchange");
}

var leases = !args.Contains("--no-leases");
Console.WriteLine($"Quota leases: {(leases ? "on" : "off")}");
if (!leases)
{
    builder = builder.WithEnvironment("gateway", "Limits__Leases__Enabled", "false");
}

if (args.Contains("--perf-map"))
{
    builder = builder.WithEnvironment("gateway", "DOTNET_PerfMapEnabled", "1")
        .WithEnvironment("gateway", "DOTNET_EnableWriteXorExecute", "0");
}

// DCP's development proxy sits in front of every endpoint under `dotnet run`: one user-space hop (~80 us, measured
// with wrk) per call, whose CPU is the dcp process's. A deployment has no such hop, so the benchmark reaches the
// simulator and the gateway on their own ports, and the gateway reaches the simulator on its own. --dcp-proxy keeps
// the proxies (the Gateway README's earlier tables were measured with them: direct once, the gateway path twice).
var dcpProxy = args.Contains("--dcp-proxy");
Console.WriteLine($"DCP proxy in front of the simulator and the gateway: {(dcpProxy ? "yes" : "no")}");
if (!dcpProxy)
{
    builder = builder.WithoutProxy("upstream").WithoutProxy("gateway");
}

// --gateway-env NAME=VALUE (repeatable): an experiment on the gateway's process alone, e.g. a runtime knob.
var gatewayEnvironment = new JsonArray();
for (var i = Array.IndexOf(args, "--gateway-env"); i >= 0 && i + 1 < args.Length; i = Array.IndexOf(args, "--gateway-env", i + 1))
{
    var (name, value) = args[i + 1].Split('=', 2) is [var n, var v] ? (n, v) : throw new ArgumentException($"--gateway-env wants NAME=VALUE, not '{args[i + 1]}'.");
    Console.WriteLine($"Gateway environment: {name}={value}");
    builder = builder.WithEnvironment("gateway", name, value);
    gatewayEnvironment.Add($"{name}={value}");
}

await using var app = await builder.StartAsync();
var report = new Report();
var session = await BenchSession.CreateAsync(app);
if (args.Contains("--serve"))
{
    await ServeAsync(session);
    return 0;
}


await Scenarios.SerialLatencyAsync(session, report, requests: (int)(4000 * scale));
await Scenarios.ThroughputAsync(session, report, concurrency: 64, duration: TimeSpan.FromSeconds(10 * scale));
await Scenarios.StreamingAsync(session, report, streams: (int)(200 * scale));
await Scenarios.MemoryAsync(session, report, openStreams: 1000);
await Scenarios.UsagePipelineAsync(session, report, events: (int)(200_000 * scale));

Console.WriteLine();
Console.WriteLine(report.Table());
var environment = new JsonObject
{
    ["machine"] = Environment.MachineName,
    ["cores"] = Environment.ProcessorCount,
    ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    ["runtime"] = Environment.Version.ToString(),
    ["configuration"] = LlmGateway.Testing.TestAppBuilder.BuildConfiguration,
    ["quick"] = quick,
    ["redisClient"] = redisClient,
    ["leases"] = leases,
    ["dcpProxy"] = dcpProxy,
    ["gatewayEnvironment"] = gatewayEnvironment,
    ["utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
};
report.WriteJson(output, environment);
Console.WriteLine($"JSON written to {Path.GetFullPath(output)}");
return 0;

static async Task ServeAsync(BenchSession session)
{
    foreach (var target in new[] { session.Direct, session.Gateway })
    {
        Console.WriteLine($"{target.Name,-8} {target.BaseAddress} pid {target.ServerProcessId} key {target.ApiKey}");
    }

    Console.WriteLine("Serving until Ctrl+C or SIGTERM.");
    using var stop = new CancellationTokenSource();
    using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
    using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }
}

static string BuildInfoText() => LlmGateway.Testing.TestAppBuilder.BuildConfiguration +
    (LlmGateway.Testing.TestAppBuilder.BuildConfiguration == "Release" ? "" : " (numbers from a Debug build are not representative: use -c Release)");
