namespace LlmGateway.UpstreamSimulator;

/// <summary>The simulator's log lines. Nothing is logged per request above Debug, so benchmarks measure no logging.</summary>
internal static partial class SimulatorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Unhandled error while answering {Method} {Path}")]
    public static partial void UnhandledError(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Request {RequestId}: connection cut after {Events} events as asked")]
    public static partial void StreamCut(ILogger logger, string requestId, int events);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Request {RequestId}: the client went away after {Events} events")]
    public static partial void ClientAborted(ILogger logger, string requestId, int events);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Request {RequestId}: unreadable body ({Reason})")]
    public static partial void BadRequestBody(ILogger logger, string requestId, string reason);
}
