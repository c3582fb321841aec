using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace LlmGateway.TokenService.Extensions;

/// <summary>
/// Turns what escapes a handler into the JSON error shape: PostgreSQL or Redis unreachable → 503 (the service stays up
/// and says so), a malformed request caught by the framework → its 4xx, anything else → 500 with the request id to
/// find it in the logs.
/// </summary>
public sealed partial class ApiExceptionHandler(NpgsqlDataSource dataSource, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        ApiError error;
        switch (exception)
        {
            case CredentialStoreUnavailableException unavailable:
                ForgetBrokenConnections(unavailable.InnerException);
                LogUnavailable(httpContext.Request.Method, httpContext.Request.Path, unavailable.InnerException?.Message ?? unavailable.Message);
                error = ApiError.Unavailable(unavailable.Message, RetryAfter);
                break;
            case NpgsqlException database when database is not PostgresException || database.IsTransient:
                ForgetBrokenConnections(database);
                LogUnavailable(httpContext.Request.Method, httpContext.Request.Path, database.Message);
                error = ApiError.Unavailable("The credential database is unreachable; try again shortly.", RetryAfter);
                break;
            case var redis when CredentialProjector.IsRedisFailure(redis):
                LogUnavailable(httpContext.Request.Method, httpContext.Request.Path, redis.Message);
                error = ApiError.Unavailable("Redis is unreachable; try again shortly.", RetryAfter);
                break;
            case BadHttpRequestException bad:
                error = ApiError.ForStatus(bad.StatusCode, httpContext.Request);
                break;
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                return true;
            default:
                LogUnhandled(exception, httpContext.Request.Method, httpContext.Request.Path, httpContext.TraceIdentifier);
                error = ApiError.Internal($"Internal error; quote request id {httpContext.TraceIdentifier} to the operator.");
                break;
        }

        await error.ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>
    /// A connection-level failure (not an error PostgreSQL answered) usually means PostgreSQL restarted: every idle
    /// pooled connection is dead too. Dropping them now costs the next requests a fresh connection instead of one more
    /// 503 per stale connection.
    /// </summary>
    private void ForgetBrokenConnections(Exception? failure)
    {
        if (failure is NpgsqlException and not PostgresException)
        {
            dataSource.Clear();
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: {Reason}")]
    private partial void LogUnavailable(string method, string path, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "{Method} {Path} failed (request {RequestId})")]
    private partial void LogUnhandled(Exception exception, string method, string path, string requestId);
}
