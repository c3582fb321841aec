using System.Diagnostics;
using System.Text;

namespace LlmGateway.Benchmarks;

/// <summary>The measured scenarios. Each drives the direct path and the gateway path with the same generator.</summary>
public static class Scenarios
{
    private static readonly byte[] StreamMessage = Encoding.UTF8.GetBytes(
        """{"model":"claude-sonnet-4-5-20250929","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Count slowly."}]}""");

    /// <summary>
    /// One request at a time, direct and through the gateway interleaved, on warm connections; the gateway both natively
    /// (<c>/v1/messages</c>) and translated (the same request as an OpenAI <c>/v1/chat/completions</c>, which the gateway
    /// turns into the same Messages call and translates back), each compared with the direct Messages call.
    /// </summary>
    public static async Task SerialLatencyAsync(BenchSession s, Report report, int requests)
    {
        Console.WriteLine($"serial latency: {requests} requests each way, interleaved...");
        using var direct = HttpLoad.CreateClient(1);
        using var gateway = HttpLoad.CreateClient(1);
        using var translated = HttpLoad.CreateClient(1);
        for (var i = 0; i < Math.Max(200, requests / 10); i++)
        {
            await HttpLoad.SendAsync(direct, HttpLoad.Message(s.Direct, HttpLoad.SmallMessage));
            await HttpLoad.SendAsync(gateway, HttpLoad.Message(s.Gateway, HttpLoad.SmallMessage));
            await HttpLoad.SendAsync(translated, HttpLoad.ChatCompletion(s.Gateway, HttpLoad.SmallChatCompletion));
        }

        var d = new LatencyRecorder();
        var g = new LatencyRecorder();
        var t = new LatencyRecorder();
        for (var i = 0; i < requests; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await HttpLoad.SendAsync(direct, HttpLoad.Message(s.Direct, HttpLoad.SmallMessage));
            d.Add(Stopwatch.GetElapsedTime(start));
            start = Stopwatch.GetTimestamp();
            await HttpLoad.SendAsync(gateway, HttpLoad.Message(s.Gateway, HttpLoad.SmallMessage));
            g.Add(Stopwatch.GetElapsedTime(start));
            start = Stopwatch.GetTimestamp();
            if (!await HttpLoad.SendAsync(translated, HttpLoad.ChatCompletion(s.Gateway, HttpLoad.SmallChatCompletion)))
            {
                throw new InvalidOperationException("A translated /v1/chat/completions request failed.");
            }

            t.Add(Stopwatch.GetElapsedTime(start));
        }

        report.Add("serial", "direct p50", d.PercentileMs(50), "ms");
        report.Add("serial", "direct p99", d.PercentileMs(99), "ms");
        report.Add("serial", "gateway p50", g.PercentileMs(50), "ms");
        report.Add("serial", "gateway p99", g.PercentileMs(99), "ms");
        var addedP50 = g.PercentileMs(50) - d.PercentileMs(50);
        var addedP99 = g.PercentileMs(99) - d.PercentileMs(99);
        report.Add("serial", "added latency p50", addedP50, "ms", "<= 0.25", addedP50 <= 0.25);
        report.Add("serial", "added latency p99", addedP99, "ms", "<= 1", addedP99 <= 1);
        report.Add("serial", "translated (OpenAI) p50", t.PercentileMs(50), "ms");
        report.Add("serial", "translated (OpenAI) p99", t.PercentileMs(99), "ms");
        report.Add("serial", "added latency translated p50", t.PercentileMs(50) - d.PercentileMs(50), "ms");
        report.Add("serial", "added latency translated p99", t.PercentileMs(99) - d.PercentileMs(99), "ms");
    }

    /// <summary>Closed loop at a fixed concurrency: requests/s and the server processes' CPU per request.</summary>
    public static async Task ThroughputAsync(BenchSession s, Report report, int concurrency, TimeSpan duration)
    {
        Console.WriteLine($"throughput: concurrency {concurrency}, {duration.TotalSeconds:0}s each way...");
        using var client = HttpLoad.CreateClient(concurrency);
        var processes = s.AppProcesses;
        await HttpLoad.ClosedLoopAsync(client, s.Direct, concurrency, TimeSpan.FromSeconds(2));
        var direct = await HttpLoad.ClosedLoopAsync(client, s.Direct, concurrency, duration, processes);
        await HttpLoad.ClosedLoopAsync(client, s.Gateway, concurrency, TimeSpan.FromSeconds(2));
        var gateway = await HttpLoad.ClosedLoopAsync(client, s.Gateway, concurrency, duration, processes);

        report.Add("throughput", "direct requests/s", direct.RequestsPerSecond, "req/s");
        report.Add("throughput", "gateway requests/s", gateway.RequestsPerSecond, "req/s");
        var ratio = gateway.RequestsPerSecond / direct.RequestsPerSecond;
        report.Add("throughput", "gateway / direct throughput", ratio * 100, "%", ">= 50", ratio >= 0.5);
        report.Add("throughput", "errors (direct + gateway)", direct.Errors + gateway.Errors, "count", "0", direct.Errors + gateway.Errors == 0);
        report.Add("throughput", "added latency p50 at c64", gateway.Latency.PercentileMs(50) - direct.Latency.PercentileMs(50), "ms");
        report.Add("throughput", "added latency p99 at c64", gateway.Latency.PercentileMs(99) - direct.Latency.PercentileMs(99), "ms");
        report.Add("throughput", "simulator CPU per served request", direct.CpuMicrosPerRequest, "us");
        report.Add("throughput", "gateway CPU per proxied request", gateway.CpuMicrosPerRequest, "us");
        var cpuRatio = gateway.CpuMicrosPerRequest / direct.CpuMicrosPerRequest;
        report.Add("throughput", "gateway CPU / simulator CPU per request", cpuRatio, "x", "<= 2.0", cpuRatio <= 2.0);

        // Where the two cores go: the same requests cost every process more when they pass through the gateway (its
        // Redis calls, the usage pipeline, and fewer requests per wake-up for the simulator at the lower rate).
        var sameRun = gateway.CpuMicrosPerRequestOf("upstream");
        report.Add("throughput", "simulator CPU per request served through the gateway", sameRun, "us");
        report.Add("throughput", "gateway CPU / simulator CPU, same requests", gateway.CpuMicrosPerRequest / sameRun, "x");
        foreach (var (label, run) in new[] { ("direct", direct), ("gateway", gateway) })
        {
            var parts = run.CpuByProcess.Where(p => p.Value > TimeSpan.Zero).OrderByDescending(p => p.Value)
                .Select(p => $"{p.Key} {run.CpuMicrosPerRequestOf(p.Key):0.0}");
            var total = run.CpuByProcess.Values.Sum(t => t.TotalMicroseconds) / Math.Max(1, run.Requests);
            report.Add("throughput", $"CPU per request, every process, {label}", total, "us");
            Console.WriteLine($"  {"",-12} {label} CPU per request by process (us): {string.Join(", ", parts)}");
        }
    }

    /// <summary>Time to first byte and the delay each SSE event suffers in transit through the gateway.</summary>
    public static async Task StreamingAsync(BenchSession s, Report report, int streams)
    {
        Console.WriteLine($"streaming: {streams} streams each way...");
        (string, string)[] headers = [("x-sim-event-delay-ms", "2"), ("x-sim-output-tokens", "24"), ("x-sim-words-per-delta", "1")];
        using var client = HttpLoad.CreateClient(4);
        var ttfbAdded = new LatencyRecorder();
        var perEventAdded = new LatencyRecorder();
        for (var i = 0; i < streams + 10; i++)
        {
            var direct = await SseTiming.MeasureAsync(client, HttpLoad.Message(s.Direct, StreamMessage, headers));
            var gateway = await SseTiming.MeasureAsync(client, HttpLoad.Message(s.Gateway, StreamMessage, headers));
            if (i < 10 || direct.EventArrivalsMs.Count != gateway.EventArrivalsMs.Count)
            {
                continue; // warm-up
            }

            ttfbAdded.AddRange([(gateway.TtfbMs - direct.TtfbMs) * 1000]);
            perEventAdded.AddRange(direct.EventArrivalsMs.Zip(gateway.EventArrivalsMs, (d, g) => (g - d) * 1000));
        }

        report.Add("streaming", "added time to first byte p50", ttfbAdded.PercentileMs(50), "ms");
        report.Add("streaming", "added delay per SSE event p50", perEventAdded.PercentileMs(50), "ms", "<= 1", perEventAdded.PercentileMs(50) <= 1);
        report.Add("streaming", "added delay per SSE event p99", perEventAdded.PercentileMs(99), "ms");
    }

    /// <summary>Gateway resident memory idle and while many streams are open at once.</summary>
    public static async Task MemoryAsync(BenchSession s, Report report, int openStreams)
    {
        Console.WriteLine($"memory: {openStreams} concurrent open streams...");
        await Task.Delay(1000);
        report.Add("memory", "gateway resident memory, idle", ProcessMeter.ResidentBytes(s.Gateway.ServerProcessId) / 1e6, "MB");
        using var client = HttpLoad.CreateClient(openStreams + 16);
        using var cancel = new CancellationTokenSource();
        var started = 0;
        var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (string, string)[] slow = [("x-sim-event-delay-ms", "4000"), ("x-sim-output-tokens", "8"), ("x-sim-words-per-delta", "1")];
        var tasks = Enumerable.Range(0, openStreams).Select(async _ =>
        {
            try
            {
                using var request = HttpLoad.Message(s.Gateway, StreamMessage, slow);
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
                await using var body = await response.Content.ReadAsStreamAsync(cancel.Token);
                var buffer = new byte[1024];
                await body.ReadAtLeastAsync(buffer, 1, throwOnEndOfStream: false, cancel.Token);
                if (Interlocked.Increment(ref started) == openStreams)
                {
                    allOpen.TrySetResult();
                }

                await body.CopyToAsync(Stream.Null, cancel.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }).ToArray();

        await allOpen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        long peak = 0;
        var breakdown = ProcessMeter.MemoryBreakdown(s.Gateway.ServerProcessId);
        for (var i = 0; i < 10; i++)
        {
            var resident = ProcessMeter.ResidentBytes(s.Gateway.ServerProcessId);
            if (resident > peak)
            {
                peak = resident;
                breakdown = ProcessMeter.MemoryBreakdown(s.Gateway.ServerProcessId);
            }

            await Task.Delay(100);
        }

        await cancel.CancelAsync();
        await Task.WhenAll(tasks);
        var mb = peak / 1e6;
        report.Add("memory", $"gateway resident memory, {openStreams} open streams", mb, "MB", "<= 150", mb <= 150);
        // What that RSS is (not targets): its own pages, its share of the framework files every service maps, and the
        // generated code RSS counts twice (W^X).
        report.Add("memory", "  of which only the gateway's pages (USS)", breakdown.Private / 1e6, "MB");
        report.Add("memory", "  its proportional share (PSS)", breakdown.Proportional / 1e6, "MB");
        report.Add("memory", "  generated code, mapped twice (W^X; RSS counts it twice)", breakdown.DoubleMappedCode / 1e6, "MB");
    }

    /// <summary>Events per second from the Redis stream into PostgreSQL through the UsageWorker.</summary>
    public static async Task UsagePipelineAsync(BenchSession s, Report report, int events)
    {
        Console.WriteLine($"usage pipeline: {events} events through the UsageWorker...");
        var rate = await s.MeasureUsagePipelineAsync(events);
        report.Add("usage", "usage events into PostgreSQL", rate, "events/s", ">= 20000", rate >= 20_000);
    }
}
