using System.Net;
using Microsoft.Extensions.Logging;

namespace LlmGateway.ServiceDefaults.Clients;

internal static partial class ClientsLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Redis '{ConnectionName}': {ConnectionType} connection to {EndPoint} failed ({FailureType}); reconnecting in the background.")]
    public static partial void RedisConnectionFailed(ILogger logger, string connectionName, string connectionType, EndPoint? endPoint, string failureType, Exception? exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Redis '{ConnectionName}': {ConnectionType} connection to {EndPoint} restored.")]
    public static partial void RedisConnectionRestored(ILogger logger, string connectionName, string connectionType, EndPoint? endPoint);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "Redis '{ConnectionName}': server {EndPoint} reported an error: {ServerMessage}")]
    public static partial void RedisServerError(ILogger logger, string connectionName, EndPoint? endPoint, string serverMessage);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error,
        Message = "Redis '{ConnectionName}': internal error in {Origin} for {EndPoint}.")]
    public static partial void RedisInternalError(ILogger logger, string connectionName, string? origin, EndPoint? endPoint, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "Redis '{ConnectionName}': connecting to {EndPoints} (the service starts even if Redis is down).")]
    public static partial void RedisConnecting(ILogger logger, string connectionName, string endPoints);
}
