using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Admission;

/// <summary>
/// Admission for the requests that consume no tokens (pass-through routes, the model list): they count against
/// requests/min and concurrency like every request (a 2 requests/min key gets 2 of anything per minute), never against
/// tokens/min or budgets.
/// </summary>
internal sealed class UnmeteredAdmission(IRequestAdmission? admission = null)
{
    /// <summary>
    /// Admits the request, or writes the refusal (<see cref="Admitted.Ok"/> false, with the status and error type for
    /// the usage event). Settle an admitted request with <see cref="SettleAsync"/> once it is answered.
    /// </summary>
    public async ValueTask<Admitted> AdmitAsync(HttpContext context, CredentialProjection credential, string route, string requestId)
    {
        if (admission is null)
        {
            return new Admitted(true, null, 0, null);
        }

        var decision = await admission.AdmitAsync(
            new AdmissionRequest(requestId, credential, route, Model: null, MaxTokens: null, Stream: false, RequestBodyBytes: 0, MeteredTokens: false),
            context.RequestAborted);
        if (!decision.Admitted)
        {
            await WriteRefusalAsync(context, decision, requestId);
            return new Admitted(false, null, decision.Status, decision.ErrorType ?? AnthropicErrors.RateLimit);
        }

        decision.Headers?.ApplyWhenStarting(context.Response);
        return new Admitted(true, decision.Ticket, 0, null);
    }

    public ValueTask SettleAsync(Admitted admitted, int status, string? errorType) =>
        admission is not null && admitted.Ticket is { } ticket
            ? admission.SettleAsync(ticket, new AdmissionOutcome(default(ResponseUsage), Estimated: false, status, errorType))
            : ValueTask.CompletedTask;

    /// <summary>A refusal as every route answers it: the limit headers, <c>retry-after</c> and the error.</summary>
    public static Task WriteRefusalAsync(HttpContext context, AdmissionDecision decision, string requestId)
    {
        decision.Headers?.Apply(context.Response.Headers);
        if (decision.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = RetryAfter.HeaderValue(retryAfter);
        }

        return AnthropicErrors.WriteAsync(context, decision.Status, decision.ErrorType ?? AnthropicErrors.RateLimit, decision.Message ?? "Rate limit exceeded.", requestId);
    }

    public readonly record struct Admitted(bool Ok, AdmissionTicket? Ticket, int Status, string? ErrorType);
}
