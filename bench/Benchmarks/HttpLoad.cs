using System.Diagnostics;
using System.Net.Http.Headers;

namespace LlmGateway.Benchmarks;

/// <summary>What one side of a comparison is: where requests go, with which key, and which process serves them.</summary>
public sealed record Target(string Name, Uri BaseAddress, string ApiKey, int ServerProcessId);

public sealed record LoadResult(
    int Requests, int Errors, TimeSpan Elapsed, LatencyRecorder Latency, TimeSpan ServerCpu, IReadOnlyDictionary<string, TimeSpan> CpuByProcess)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;

    public double CpuMicrosPerRequest => ServerCpu.TotalMicroseconds / Math.Max(1, Requests);

    /// <summary>CPU per request of one of the measured processes (see <see cref="HttpLoad.ClosedLoopAsync"/>).</summary>
    public double CpuMicrosPerRequestOf(string process) => CpuByProcess[process].TotalMicroseconds / Math.Max(1, Requests);
}

/// <summary>A closed-loop HTTP load generator: each worker sends its next request when the previous one completed.</summary>
public static class HttpLoad
{
    public static readonly byte[] SmallMessage =
        """{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"messages":[{"role":"user","content":"Say hello in a few words."}]}"""u8.ToArray();

    /// <summary><see cref="SmallMessage"/> as an OpenAI Chat Completions request: the same work for the upstream.</summary>
    public static readonly byte[] SmallChatCompletion =
        """{"model":"claude-sonnet-4-5-20250929","max_completion_tokens":64,"messages":[{"role":"user","content":"Say hello in a few words."}]}"""u8.ToArray();

    public static HttpClient CreateClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    })
    { Timeout = TimeSpan.FromMinutes(5) };

    public static HttpRequestMessage Message(Target target, byte[] body, IEnumerable<(string, string)>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseAddress, "/v1/messages"))
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.TryAddWithoutValidation("x-api-key", target.ApiKey);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>A <c>POST /v1/chat/completions</c> as the OpenAI SDKs send it (bearer key, no anthropic-version).</summary>
    public static HttpRequestMessage ChatCompletion(Target target, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseAddress, "/v1/chat/completions"))
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.ApiKey);
        return request;
    }

    /// <summary>Sends one request and reads the whole response; returns whether it succeeded.</summary>
    public static async Task<bool> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken ct = default)
    {
        using (request)
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct))
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            await body.CopyToAsync(Stream.Null, ct);
            return response.IsSuccessStatusCode;
        }
    }

    /// <summary>
    /// Runs <paramref name="concurrency"/> workers for <paramref name="duration"/>. Besides the target's own CPU, measures
    /// the CPU of each process in <paramref name="processes"/> (name → root pid, descendants included) and of this
    /// process, the load generator, as <c>"load generator"</c>.
    /// </summary>
    public static async Task<LoadResult> ClosedLoopAsync(
        HttpClient client, Target target, int concurrency, TimeSpan duration, IReadOnlyDictionary<string, int>? processes = null)
    {
        var latency = new LatencyRecorder();
        var requests = 0;
        var errors = 0;
        processes ??= new Dictionary<string, int>();
        var before = processes.ToDictionary(p => p.Key, p => ProcessMeter.CpuTimeOfTree(p.Value));
        var generatorBefore = Environment.CpuUsage.TotalTime;
        var cpuBefore = ProcessMeter.CpuTime(target.ServerProcessId);
        var clock = Stopwatch.StartNew();
        var deadline = duration;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var local = new List<double>(4096);
            var localErrors = 0;
            while (clock.Elapsed < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                var ok = await SendAsync(client, Message(target, SmallMessage));
                local.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                if (!ok)
                {
                    localErrors++;
                }
            }

            latency.AddRange(local);
            Interlocked.Add(ref requests, local.Count);
            Interlocked.Add(ref errors, localErrors);
        }).ToArray();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        var cpu = ProcessMeter.CpuTime(target.ServerProcessId) - cpuBefore;
        var byProcess = processes.ToDictionary(p => p.Key, p => ProcessMeter.CpuTimeOfTree(p.Value) - before[p.Key]);
        byProcess["load generator"] = Environment.CpuUsage.TotalTime - generatorBefore;
        return new LoadResult(requests, errors, elapsed, latency, cpu, byProcess);
    }
}
