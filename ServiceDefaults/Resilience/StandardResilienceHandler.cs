using Polly;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// Sends each request through its client's standard resilience pipeline (see <see cref="HttpResiliencePipelineProvider"/>).
/// Sits outside the service-discovery handler, so every retry resolves the service name again.
/// </summary>
public sealed class StandardResilienceHandler : DelegatingHandler
{
    private readonly HttpResiliencePipeline _pipeline;

    public StandardResilienceHandler(HttpResiliencePipeline pipeline) => _pipeline = pipeline;

    public StandardResilienceHandler(HttpResiliencePipeline pipeline, HttpMessageHandler innerHandler)
        : base(innerHandler) => _pipeline = pipeline;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (_pipeline.RetriesEnabled)
        {
            await ReplayableRequest.PrepareContentAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await _pipeline.Pipeline.ExecuteOutcomeAsync(
                static async (context, state) =>
                {
                    try
                    {
                        var attempt = ReplayableRequest.CreateAttempt(state.request);
                        var response = await state.handler.SendToInnerAsync(attempt, context.CancellationToken).ConfigureAwait(false);
                        return Outcome.FromResult(response);
                    }
#pragma warning disable CA1031 // Every failure becomes an outcome so the strategies can classify it.
                    catch (Exception exception)
#pragma warning restore CA1031
                    {
                        return Outcome.FromException<HttpResponseMessage>(exception);
                    }
                },
                context,
                (handler: this, request)).ConfigureAwait(false);

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (_pipeline.RetriesEnabled)
        {
            ReplayableRequest.PrepareContentAsync(request, cancellationToken).AsTask().GetAwaiter().GetResult();
        }

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            // Synchronous execution lets Polly turn the callback's exceptions into outcomes itself.
            return _pipeline.Pipeline.Execute(
                static (context, state) => state.handler.SendToInner(ReplayableRequest.CreateAttempt(state.request), context.CancellationToken),
                context,
                (handler: this, request));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private HttpResponseMessage SendToInner(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.Send(request, cancellationToken);

    private Task<HttpResponseMessage> SendToInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);
}
