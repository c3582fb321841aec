using LlmGateway.Identity.Authentication;
using LlmGateway.UsageWorker.Apis;

namespace LlmGateway.UsageWorker.Authentication;

/// <summary>The caller scheme's challenges and forbids, in the usage API's error shape.</summary>
internal sealed class ApiErrorWriter : ICallerErrorWriter
{
    public Task WriteAsync(HttpContext context, CallerRefusal refusal) =>
        ApiError.Result(context, refusal.Status, refusal.ErrorType, refusal.Message).ExecuteAsync(context);
}
