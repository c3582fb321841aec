using System.Diagnostics;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Streaming;
using LlmGateway.Gateway.Telemetry;
using LlmGateway.Gateway.Translation;
using LlmGateway.Gateway.Usage;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>
/// The hot path for model requests (<c>/v1/messages</c>, <c>/v1/messages/count_tokens</c>, <c>/v1/complete</c>), after
/// the caller scheme authenticated the caller (<see cref="GatewayCallerAuthenticator"/>): read the body once and pick model/stream/max_tokens → authorize the model → admit → forward →
/// settle → one usage event. Every outcome after authentication, success or not, produces exactly one usage event.
/// </summary>
internal sealed partial class ModelRequestPipeline(
    UpstreamForwarder forwarder,
    UpstreamRouter router,
    UsageEmitter usage,
    ModelNameTable modelNames,
    GatewayTelemetry telemetry,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<ModelRequestPipeline> logger,
    ChatCompletionsTranslation chatCompletions,
    IRequestAdmission? admission = null,
    UpstreamAccountTokens? accountTokens = null)
{
    private readonly int _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public async Task HandleAsync(HttpContext context, ModelRoute route)
    {
        var started = time.GetTimestamp();
        var requestId = RequestIds.Of(context);
        var aborted = context.RequestAborted;
        using var activity = GatewayTelemetry.Source.StartActivity(route.Operation, ActivityKind.Client);

        var exchange = new Exchange(requestId, route, GatewayCallerAuthenticator.CredentialOf(context), started);
        PooledBody? body = null;
        PooledBody? openAiBody = null;
        JsonUsageReader? jsonReader = null;
        try
        {
            // Only a body the gateway can read is forwarded: it must check the model and reserve from max_tokens.
            if (!JsonMediaType.Is(context.Request.ContentType))
            {
                await RejectAsync(context, exchange, StatusCodes.Status415UnsupportedMediaType, AnthropicErrors.InvalidRequest, JsonMediaType.Required);
                return;
            }

            BodyReadStatus read;
            try
            {
                (read, body) = await RequestBodyReader.ReadAsync(context.Request, _maxBodyBytes, aborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or BadHttpRequestException)
            {
                // The client stopped sending (or went away): nobody to answer, but the attempt is recorded.
                exchange.Finish(ForwardingFailures.ClientClosedRequest, ForwardingFailures.Tag(ForwardingFailure.RequestCanceled));
                return;
            }

            if (read == BodyReadStatus.TooLarge)
            {
                await RejectAsync(context, exchange, 413, AnthropicErrors.RequestTooLarge,
                    $"Request body is larger than the {_maxBodyBytes} bytes this gateway accepts.");
                return;
            }

            if (read == BodyReadStatus.Malformed)
            {
                await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, RequestBodyReader.MalformedMessage);
                return;
            }

            if (route.TranslatesChatCompletions)
            {
                // From here on the request is a Messages request (model, stream and max_tokens as the upstream reads them).
                var translated = chatCompletions.TranslateRequest(context, body!, out var translationError);
                if (translated is null)
                {
                    await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, translationError!);
                    return;
                }

                body!.Dispose();
                body = translated;
            }

            var parseError = ModelRequestParser.TryParse(body!.Span, route.MaxTokensField, modelNames, out var request);
            if (parseError != ModelRequestError.None)
            {
                await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, ModelRequestParser.Describe(parseError));
                return;
            }

            // A configured alias (Routing:Aliases) is resolved first: the allowlist, routing, the upstream and usage see the real id.
            if (router.ResolveAlias(request.Model) is var resolved && !ReferenceEquals(resolved, request.Model)
                && ModelAlias.Rewrite(body!.Span, resolved) is { } rewritten)
            {
                body.Dispose();
                body = rewritten;
                request = request with { Model = resolved };
            }

            exchange.Model = request.Model;
            exchange.Stream = request.Stream;
            if (activity is not null)
            {
                activity.DisplayName = route.Operation + " " + request.Model;
                activity.SetTag(GenAi.RequestModel, request.Model);
                if (request.MaxTokens is { } maxTokens)
                {
                    activity.SetTag(GenAi.RequestMaxTokens, maxTokens);
                }
            }

            if (!ModelPatterns.IsAllowed(exchange.Credential.Models, request.Model))
            {
                await RejectAsync(context, exchange, 403, AnthropicErrors.Permission,
                    $"This credential is not allowed to use model '{request.Model}'.");
                return;
            }

            if (admission is not null)
            {
                var decision = await admission.AdmitAsync(
                    new AdmissionRequest(requestId, exchange.Credential, route.Path, request.Model, request.MaxTokens, request.Stream, body.Length,
                        route.MeteredTokens),
                    aborted);
                if (!decision.Admitted)
                {
                    exchange.Finish(decision.Status, decision.ErrorType ?? AnthropicErrors.RateLimit);
                    await UnmeteredAdmission.WriteRefusalAsync(context, decision, requestId);
                    return;
                }

                exchange.Ticket = decision.Ticket;
                exchange.Admitted = true;
                decision.Headers?.ApplyWhenStarting(context.Response);
            }

            var eventReader = request.Stream ? new SseUsageReader(modelNames) : null;
            jsonReader = new JsonUsageReader(modelNames);
            var pathAndQuery = context.Request.QueryString.HasValue && !route.TranslatesChatCompletions
                ? route.UpstreamPath + context.Request.QueryString.Value
                : route.UpstreamPath;
            var plan = router.Plan(request.Model, route.TranslatesToOpenAi);
            if (plan.HasOpenAiTarget)
            {
                openAiBody = OpenAiUpstream.TranslateRequest(body, out var untranslatable);
                if (openAiBody is null)
                {
                    await RejectAsync(context, exchange, 400, AnthropicErrors.InvalidRequest, untranslatable!);
                    return;
                }
            }

            UpstreamOAuthGrant? oauth = null;
            if (exchange.Credential.UpstreamAccount is { } account && accountTokens is not null)
            {
                // Served by an upstream OAuth account: its token or a clear error, never another account or the shared key.
                var grant = await accountTokens.GetAsync(account, null, aborted);
                if (grant.Token is null)
                {
                    await RejectAsync(context, exchange, 503, AnthropicErrors.Api, grant.Problem!);
                    return;
                }

                oauth = new UpstreamOAuthGrant(account, grant.Token);
            }

            var result = await forwarder.ForwardAsync(context, new ForwardRequest(requestId, pathAndQuery, body, eventReader, jsonReader, FixedTarget: true,
                Plan: plan, OpenAiBody: openAiBody, OAuth: oauth), aborted);
            exchange.Settle(result, eventReader, jsonReader);
        }
        finally
        {
            body?.Dispose();
            openAiBody?.Dispose();
            jsonReader?.Dispose();
            // Settled before the response ends: a client that sends its next request as soon as this one is done
            // finds its concurrency slot released and its tokens corrected.
            await CompleteAsync(exchange, activity);
        }
    }

    private static Task RejectAsync(HttpContext context, Exchange exchange, int status, string errorType, string message)
    {
        exchange.Finish(status, errorType);
        return AnthropicErrors.WriteAsync(context, status, errorType, message, exchange.RequestId);
    }

    /// <summary>Settles admission, emits the usage event, records telemetry and logs: once per authenticated request.</summary>
    private async Task CompleteAsync(Exchange exchange, Activity? activity)
    {
        var now = time.GetTimestamp();
        var latency = time.GetElapsedTime(exchange.Started, now);
        if (exchange.Admitted && admission is not null)
        {
            await admission.SettleAsync(exchange.Ticket!, new AdmissionOutcome(exchange.Usage, exchange.Estimated, exchange.Status, exchange.ErrorType, exchange.Upstream));
        }

        var credential = exchange.Credential;
        var ttfb = exchange.FirstByteWritten != 0 ? time.GetElapsedTime(exchange.Started, exchange.FirstByteWritten) : (TimeSpan?)null;
        await usage.EmitAsync(new UsageRecord(
            exchange.RequestId,
            time.GetUtcNow().ToUnixTimeMilliseconds() - (long)latency.TotalMilliseconds,
            credential.Id,
            CredentialKindNames.Of(credential.Kind),
            credential.Owner.Type,
            credential.Owner.Id,
            credential.Owner.OrganizationId,
            credential.AgentName,
            credential.DeviceId,
            exchange.Model,
            exchange.Upstream,
            exchange.Route.Path,
            exchange.Status,
            exchange.ErrorType,
            exchange.Usage.InputTokens,
            exchange.Usage.OutputTokens,
            exchange.Usage.CacheCreationInputTokens,
            exchange.Usage.CacheReadInputTokens,
            exchange.Stream,
            (long)latency.TotalMilliseconds,
            ttfb is { } t ? (long)t.TotalMilliseconds : null,
            exchange.Estimated,
            exchange.Attempts));

        Record(exchange, activity, latency, ttfb);
        if (exchange.Status < 400)
        {
            LogCompleted(logger, exchange.RequestId, exchange.Route.Path, exchange.Model ?? "-", exchange.Status, latency.TotalMilliseconds,
                credential.Id, exchange.Usage.InputTokens, exchange.Usage.OutputTokens, exchange.Estimated);
        }
        else if (exchange.Upstream is null)
        {
            LogRejected(logger, exchange.RequestId, exchange.Route.Path, exchange.Status, exchange.ErrorType ?? "-", credential.Id);
        }
        else
        {
            LogFailed(logger, exchange.RequestId, exchange.Route.Path, exchange.Model ?? "-", exchange.Status, exchange.ErrorType ?? "-",
                latency.TotalMilliseconds, credential.Id);
        }
    }

    private void Record(Exchange exchange, Activity? activity, TimeSpan latency, TimeSpan? ttfb)
    {
        var model = exchange.Model ?? "unknown";
        var operation = exchange.Route.Operation;
        var tags = new TagList
        {
            { GenAi.OperationName, operation },
            { GenAi.System, GenAi.Anthropic },
            { GenAi.RequestModel, model },
        };

        if (exchange.ErrorType is { } errorType)
        {
            var withError = tags;
            withError.Add(GenAi.ErrorType, errorType);
            telemetry.RequestDuration.Record(latency.TotalSeconds, withError);
        }
        else
        {
            telemetry.RequestDuration.Record(latency.TotalSeconds, tags);
        }

        if (exchange.Usage.Reported && exchange.Route.MeteredTokens)
        {
            var input = tags;
            input.Add(GenAi.TokenType, "input");
            telemetry.TokenUsage.Record(exchange.Usage.InputTokens + exchange.Usage.CacheCreationInputTokens + exchange.Usage.CacheReadInputTokens, input);
            var output = tags;
            output.Add(GenAi.TokenType, "output");
            telemetry.TokenUsage.Record(exchange.Usage.OutputTokens, output);
        }

        if (ttfb is { } firstByte && exchange.Status < 400)
        {
            telemetry.TimeToFirstToken.Record(firstByte.TotalSeconds, tags);
        }

        if (exchange.SendStarted != 0)
        {
            telemetry.Overhead.Record(time.GetElapsedTime(exchange.Started, exchange.SendStarted).TotalSeconds, tags);
        }

        if (exchange.Attempts > 1)
        {
            telemetry.Retries.Add(exchange.Attempts - 1, tags);
        }

        if (activity is null)
        {
            return;
        }

        activity.SetTag(GenAi.OperationName, operation);
        activity.SetTag(GenAi.System, GenAi.Anthropic);
        activity.SetTag(GenAi.ProviderName, GenAi.Anthropic);
        activity.SetTag("llmgateway.request_id", exchange.RequestId);
        activity.SetTag("llmgateway.credential_id", exchange.Credential.Id);
        activity.SetTag("http.response.status_code", exchange.Status);
        if (exchange.ResponseModel is { } responseModel)
        {
            activity.SetTag(GenAi.ResponseModel, responseModel);
        }

        if (exchange.Usage.Reported)
        {
            activity.SetTag(GenAi.UsageInputTokens, exchange.Usage.InputTokens);
            activity.SetTag(GenAi.UsageOutputTokens, exchange.Usage.OutputTokens);
            activity.SetTag(GenAi.UsageCacheReadInputTokens, exchange.Usage.CacheReadInputTokens);
            activity.SetTag(GenAi.UsageCacheCreationInputTokens, exchange.Usage.CacheCreationInputTokens);
        }

        if (exchange.StopReason is { } stopReason)
        {
            activity.SetTag(GenAi.ResponseFinishReasons, StopReasons.AsArray(stopReason));
        }

        if (exchange.Estimated)
        {
            activity.SetTag("llmgateway.usage.estimated", true);
        }

        if (exchange.ErrorType is { } error)
        {
            activity.SetTag(GenAi.ErrorType, error);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    /// <summary>State of one model request from authentication to its usage event.</summary>
    private sealed class Exchange(string requestId, ModelRoute route, CredentialProjection credential, long started)
    {
        public string RequestId { get; } = requestId;
        public ModelRoute Route { get; } = route;
        public CredentialProjection Credential { get; } = credential;
        public long Started { get; } = started;
        public string? Model { get; set; }
        public bool Stream { get; set; }
        public bool Admitted { get; set; }
        public AdmissionTicket? Ticket { get; set; }
        public int Status { get; private set; } = ForwardingFailures.ClientClosedRequest;
        public string? ErrorType { get; private set; }
        public string? Upstream { get; private set; }
        public string? ResponseModel { get; private set; }
        public string? StopReason { get; private set; }
        public TokenUsage Usage;
        public bool Estimated { get; private set; }
        public int Attempts { get; private set; }
        public long SendStarted { get; private set; }
        public long FirstByteWritten { get; private set; }

        public void Finish(int status, string? errorType)
        {
            Status = status;
            ErrorType = errorType;
        }

        public void Settle(ForwardResult result, SseUsageReader? events, JsonUsageReader json)
        {
            Status = result.StatusCode;
            Upstream = result.Upstream?.Name;
            Attempts = result.Attempts;
            SendStarted = result.SendStarted;
            FirstByteWritten = result.FirstByteWritten;

            string? upstreamErrorType;
            if (result.EventStream && events is not null)
            {
                Usage = events.Usage;
                ResponseModel = events.ResponseModel;
                StopReason = events.StopReason;
                upstreamErrorType = events.ErrorType;
                if (!events.Completed)
                {
                    // Cut short (by either side): input is exact from message_start, output is what was seen so far.
                    Usage.OutputTokens = events.EstimateOutputTokens();
                    Estimated = true;
                }
            }
            else
            {
                var readable = result.Failure == ForwardingFailure.None && json.Complete();
                Usage = json.Usage;
                ResponseModel = json.ResponseModel;
                StopReason = json.StopReason;
                upstreamErrorType = json.ErrorType;
                // A successful answer whose usage could not be read (not JSON, or too large to capture).
                Estimated = !readable && result.Failure == ForwardingFailure.None && Status < 400;
            }

            // Failures after the upstream may have started work: what it consumed is not fully known.
            if (result.Failure is ForwardingFailure.RequestCanceled or ForwardingFailure.UpstreamTimeout
                or ForwardingFailure.ResponseBodyClient or ForwardingFailure.ResponseBodyUpstream or ForwardingFailure.ResponseBodyStalled)
            {
                Estimated = true;
            }

            if (!Route.MeteredTokens)
            {
                Usage = default;
                Estimated = false;
            }

            ErrorType = result.Failure switch
            {
                ForwardingFailure.None => upstreamErrorType ?? (Status >= 400 ? AnthropicErrors.TypeForStatus(Status) : null),
                ForwardingFailure.ResponseBodyUpstream => upstreamErrorType ?? ForwardingFailures.Tag(result.Failure),
                _ => ForwardingFailures.Tag(result.Failure),
            };
        }
    }

    [LoggerMessage(1401, LogLevel.Debug, "{RequestId} {Route} {Model} → {Status} in {LatencyMs:F1} ms (credential {CredentialId}, input {InputTokens}, output {OutputTokens}, estimated {Estimated})")]
    private static partial void LogCompleted(ILogger logger, string requestId, string route, string model, int status, double latencyMs,
        string credentialId, long inputTokens, long outputTokens, bool estimated);

    [LoggerMessage(1402, LogLevel.Information, "{RequestId} {Route} rejected with {Status} {ErrorType} (credential {CredentialId})")]
    private static partial void LogRejected(ILogger logger, string requestId, string route, int status, string errorType, string credentialId);

    [LoggerMessage(1403, LogLevel.Information, "{RequestId} {Route} {Model} → {Status} {ErrorType} in {LatencyMs:F1} ms (credential {CredentialId})")]
    private static partial void LogFailed(ILogger logger, string requestId, string route, string model, int status, string errorType,
        double latencyMs, string credentialId);
}
