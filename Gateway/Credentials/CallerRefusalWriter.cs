using LlmGateway.Gateway.Translation;
using LlmGateway.Identity.Authentication;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// The caller scheme's challenges and forbids on the gateway: logged with the credential redacted, then written in
/// the route's shape — Anthropic's envelope, or OpenAI's error for a route marked <see cref="OpenAiShape"/> (through
/// <see cref="OpenAiResponseBody"/>, the same rewrite as every other error of those routes).
/// </summary>
internal sealed partial class CallerRefusalWriter(ILogger<CallerRefusalWriter> logger) : ICallerErrorWriter
{
    public async Task WriteAsync(HttpContext context, CallerRefusal refusal)
    {
        var requestId = RequestIds.Of(context);
        LogRefused(logger, requestId, context.Request.Path.Value ?? "/", refusal.Status, refusal.ErrorType, CredentialHeaders.Describe(context.Request.Headers));
        if (context.GetEndpoint()?.Metadata.GetMetadata<OpenAiShape>() is not { } shape || !shape.AppliesTo(context.Request))
        {
            await AnthropicErrors.WriteAsync(context, refusal.Status, refusal.ErrorType, refusal.Message, requestId);
            return;
        }

        var body = OpenAiResponseBody.Install(context);
        try
        {
            await AnthropicErrors.WriteAsync(context, refusal.Status, refusal.ErrorType, refusal.Message, requestId);
        }
        finally
        {
            await body.CompleteAsync();
        }
    }

    [LoggerMessage(1404, LogLevel.Information, "{RequestId} {Route} rejected with {Status} {ErrorType} (credential {Credential})")]
    private static partial void LogRefused(ILogger logger, string requestId, string route, int status, string errorType, string credential);
}
