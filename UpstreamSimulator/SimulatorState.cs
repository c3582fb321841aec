using LlmGateway.UpstreamSimulator.Model;
using LlmGateway.UpstreamSimulator.Recording;
using LlmGateway.UpstreamSimulator.Streaming;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;

namespace LlmGateway.UpstreamSimulator;

/// <summary>The simulator's shared, process-wide state: settings, tagged-request log, gates and buffers.</summary>
internal sealed class SimulatorState(IOptions<SimulatorOptions> options, ILoggerFactory loggers)
{
    public SimulatorOptions Options { get; } = options.Value;

    public RequestLog Requests { get; } = new(options.Value.MaxRecordedRequests);

    public StreamGates Gates { get; } = new();

    public ObjectPool<ResponseBuffer> Buffers { get; } = new DefaultObjectPool<ResponseBuffer>(new ResponseBuffer.Policy(), Environment.ProcessorCount * 16);

    public ModelCatalog Models { get; } = new();

    public ILogger Logger { get; } = loggers.CreateLogger("LlmGateway.UpstreamSimulator");
}
