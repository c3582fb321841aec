using Microsoft.Extensions.Logging;

namespace LlmGateway.ServiceDefaults.Resilience;

internal static partial class ResilienceLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "HTTP client '{ClientName}': attempt {Attempt} failed ({Failure}); retrying in {DelayMs} ms.")]
    public static partial void Retrying(ILogger logger, string clientName, int attempt, string failure, double delayMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "HTTP client '{ClientName}': circuit opened for {BreakDurationMs} ms after {Failure}.")]
    public static partial void CircuitOpened(ILogger logger, string clientName, double breakDurationMs, string failure);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "HTTP client '{ClientName}': circuit half-open, letting one probe request through.")]
    public static partial void CircuitHalfOpened(ILogger logger, string clientName);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "HTTP client '{ClientName}': circuit closed.")]
    public static partial void CircuitClosed(ILogger logger, string clientName);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "HTTP client '{ClientName}': {Timeout} of {TimeoutMs} ms elapsed.")]
    public static partial void TimedOut(ILogger logger, string clientName, string timeout, double timeoutMs);

    public static string Describe(HttpResponseMessage? response, Exception? exception) =>
        exception is not null
            ? exception.GetType().Name
            : response is not null ? $"HTTP {(int)response.StatusCode}" : "no outcome";
}
