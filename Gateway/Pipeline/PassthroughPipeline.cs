using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Pipeline.Steps;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;
using LlmGateway.Gateway.Usage;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>
/// Any other <c>/v1/*</c> route (files, batches, models by id, future endpoints): authenticated by the caller scheme, then forwarded
/// transparently with the real key. The body is streamed through, except for message batches, whose models are
/// checked against the allowlist first. One usage event per request (no tokens: nothing here is metered).
/// </summary>
internal sealed class PassthroughPipeline(
    UpstreamForwarder forwarder,
    UsageEmitter usage,
    UnmeteredAdmission admission,
    SharedResources sharedResources,
    ModelNameTable modelNames,
    IOptions<GatewayOptions> options,
    TimeProvider time)
{
    private readonly int _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public Task HandleAsync(HttpContext context) =>
        ForwardAsync(context, GatewayCallerAuthenticator.CredentialOf(context), RequestIds.Of(context), time.GetTimestamp());

    /// <summary>Forwards a request whose caller is already authenticated and authorized.</summary>
    public async Task ForwardAsync(HttpContext context, CredentialProjection credential, string requestId, long started)
    {
        var route = context.Request.Path.Value ?? "/";
        var status = ForwardingFailures.ClientClosedRequest;
        string? errorType = null;
        string? upstream = null;
        PooledBody? body = null;
        JsonUsageReader? created = null;
        try
        {
            var (sharedKind, sharedId) = SharedResources.Classify(context.Request.Path);
            if (sharedKind is not null && await sharedResources.CheckAsync(context.Request, sharedKind, sharedId, credential) is { } refusal)
            {
                (status, errorType) = (refusal.Status, refusal.Status == 404 ? AnthropicErrors.NotFound : AnthropicErrors.Permission);
                await AnthropicErrors.WriteAsync(context, status, errorType, refusal.Message, requestId);
                return;
            }

            if (SharedResources.Creates(context.Request, sharedKind, sharedId))
            {
                created = new JsonUsageReader(modelNames);
            }

            if (context.Request.ContentLength > _maxBodyBytes)
            {
                (status, errorType, _) = await RejectAsync(context, Rejection.TooLarge(_maxBodyBytes), requestId);
                return;
            }

            if (UpstreamForwarder.HasBody(context.Request) && !JsonMediaType.Is(context.Request.ContentType) && !MayStreamOpaqueBody(context.Request))
            {
                // The gateway must be able to read what it forwards (the model it names, the allowlist).
                (status, errorType) = (StatusCodes.Status415UnsupportedMediaType, AnthropicErrors.InvalidRequest);
                await AnthropicErrors.WriteAsync(context, status, errorType, JsonMediaType.Required, requestId);
                return;
            }

            if (IsBatchCreation(context.Request) || IsJsonPost(context.Request))
            {
                (status, errorType, body) = await ReadAndCheckModelsAsync(context, credential, requestId);
                if (body is null)
                {
                    return;
                }
            }
            else if (!UpstreamForwarder.HasBody(context.Request))
            {
                body = PooledBody.Empty();
            }
            else if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                // Streamed through; Kestrel stops it at the limit and the forwarder answers 413.
                limit.MaxRequestBodySize = _maxBodyBytes;
            }

            var admitted = await admission.AdmitAsync(context, credential, route, requestId);
            if (!admitted.Ok)
            {
                (status, errorType) = (admitted.Status, admitted.ErrorType);
                return;
            }

            try
            {
                var pathAndQuery = route + context.Request.QueryString.Value;
                var result = await forwarder.ForwardAsync(context, new ForwardRequest(requestId, pathAndQuery, body, JsonReader: created), context.RequestAborted);
                status = result.StatusCode;
                if (created is not null && status is >= 200 and < 300 && created.Complete() && created.ResponseId is { } id)
                {
                    await sharedResources.RecordAsync(sharedKind!, id, credential);
                }
                upstream = result.Upstream?.Name;
                errorType = ForwardingFailures.RecordedErrorType(result.Failure, status);
            }
            finally
            {
                await admission.SettleAsync(admitted, status, errorType);
            }
        }
        finally
        {
            body?.Dispose();
            created?.Dispose();
            var latency = time.GetElapsedTime(started);
            await usage.EmitAsync(UsageRecords.WithoutTokens(requestId, time, latency, credential, route, upstream, status, errorType));
        }
    }

    private static bool IsBatchCreation(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && request.Path.Value is { } path
        && path.TrimEnd('/').Equals("/v1/messages/batches", StringComparison.OrdinalIgnoreCase);

    private static bool IsJsonPost(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && JsonMediaType.Is(request.ContentType);

    /// <summary>File uploads (multipart) are the only bodies forwarded without being read.</summary>
    private static bool MayStreamOpaqueBody(HttpRequest request) =>
        request.Path.StartsWithSegments("/v1/files", StringComparison.OrdinalIgnoreCase)
        && request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>
    /// Budgets are settled from the usage the Messages API reports; pass-through routes are not metered, so a
    /// credential with a budget (its own or an ancestor's) may not spend through them.
    /// </summary>
    private static bool HasBudget(CredentialProjection credential) =>
        credential.Limits.BudgetUsd is not null || credential.Ancestors?.Any(a => a.Limits.BudgetUsd is not null) == true;

    private async Task<(int Status, string? ErrorType, PooledBody? Body)> ReadAndCheckModelsAsync(
        HttpContext context, CredentialProjection credential, string requestId)
    {
        BodyReadStatus read;
        PooledBody? body;
        try
        {
            (read, body) = await RequestBodyReader.ReadAsync(context.Request, _maxBodyBytes, context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or BadHttpRequestException)
        {
            return (ForwardingFailures.ClientClosedRequest, ForwardingFailures.Tag(ForwardingFailure.RequestCanceled), null);
        }

        if (read == BodyReadStatus.TooLarge)
        {
            return await RejectAsync(context, Rejection.TooLarge(_maxBodyBytes), requestId);
        }

        if (read == BodyReadStatus.Malformed)
        {
            return await RejectAsync(context, Rejection.Malformed, requestId);
        }

        if (!IsBatchCreation(context.Request))
        {
            switch (TopLevelModel.Find(body!.Span, out var model))
            {
                case TopLevelModel.Verdict.None:
                    return (0, null, body);
                case TopLevelModel.Verdict.Malformed:
                    body.Dispose();
                    await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest,
                        "The request body must be a JSON object of valid UTF-8 that names \"model\" at most once.", requestId);
                    return (400, AnthropicErrors.InvalidRequest, null);
            }

            if (ModelAuthorization.Check(credential, model!) is { } forbidden)
            {
                body.Dispose();
                return await RejectAsync(context, forbidden, requestId);
            }
        }

        if (HasBudget(credential))
        {
            body!.Dispose();
            await AnthropicErrors.WriteAsync(context, 403, AnthropicErrors.Permission,
                $"{context.Request.Path} is not metered by this gateway, so credentials with a budget cannot use it; use /v1/messages.", requestId);
            return (403, AnthropicErrors.Permission, null);
        }

        if (!IsBatchCreation(context.Request))
        {
            return (0, null, body);
        }

        switch (BatchRequestModels.Check(body!.Span, credential.Models, modelNames, out var denied))
        {
            case BatchRequestModels.Verdict.Malformed:
                body.Dispose();
                await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest, "The request body is not valid JSON.", requestId);
                return (400, AnthropicErrors.InvalidRequest, null);
            case BatchRequestModels.Verdict.Denied:
                body.Dispose();
                return await RejectAsync(context, ModelAuthorization.Denied(denied!), requestId);
            default:
                return (0, null, body);
        }
    }

    private static async Task<(int Status, string? ErrorType, PooledBody? Body)> RejectAsync(HttpContext context, Rejection rejection, string requestId)
    {
        await AnthropicErrors.WriteAsync(context, rejection.Status, rejection.ErrorType, rejection.Message, requestId);
        return (rejection.Status, rejection.ErrorType, null);
    }
}
