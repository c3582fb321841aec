using LlmGateway.Gateway.Admission;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>
/// Step <i>admit</i> and its counterpart at the end: the request is admitted against the credential's limits before it
/// is forwarded, and what admission reserved is settled with the actual usage once it is done. Without a registered
/// <see cref="IRequestAdmission"/> every request is admitted and nothing is settled.
/// </summary>
internal sealed class ModelRequestAdmission(IRequestAdmission? admission = null)
{
    private static readonly AdmissionDecision Unlimited = AdmissionDecision.Admit(null);

    public ValueTask<AdmissionDecision> AdmitAsync(ModelExchange exchange, CancellationToken cancellationToken) =>
        admission is null
            ? new(Unlimited)
            : admission.AdmitAsync(
                new AdmissionRequest(exchange.RequestId, exchange.Credential, exchange.Route.Path, exchange.Model, exchange.MaxTokens, exchange.Stream,
                    exchange.Body!.Length, exchange.Route.MeteredTokens),
                cancellationToken);

    /// <summary>Whether the request may go on; the admitted one holds its ticket and gets the rate-limit headers.</summary>
    public bool Enter(HttpContext context, ModelExchange exchange, in AdmissionDecision decision)
    {
        if (!decision.Admitted)
        {
            exchange.Finish(decision.Status, decision.ErrorType ?? AnthropicErrors.RateLimit);
            return false;
        }

        exchange.Ticket = decision.Ticket;
        decision.Headers?.ApplyWhenStarting(context.Response);
        return true;
    }

    public ValueTask SettleAsync(ModelExchange exchange) =>
        admission is not null && exchange.Ticket is { } ticket
            ? admission.SettleAsync(ticket, new AdmissionOutcome(exchange.Usage, exchange.Estimated, exchange.Status, exchange.ErrorType, exchange.Upstream))
            : ValueTask.CompletedTask;
}
