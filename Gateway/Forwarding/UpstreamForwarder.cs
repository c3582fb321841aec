using System.Net;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Translation;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Every call to the model provider: a caller's request (model and pass-through routes) forwarded and its response sent
/// back (<see cref="ForwardAsync"/>), or one the gateway makes itself (<see cref="FetchAsync"/>, the model list); every
/// failure classified into a <see cref="ForwardingFailure"/>.
/// </summary>
/// <remarks>
/// Retries happen only before the first response byte, only for connection errors and 408, 409, 429, 5xx, 529,
/// and only when the body was buffered (it can be sent again). After the response started, bytes flow to the
/// client as they arrive; an upstream cut of an event stream ends in an Anthropic <c>event: error</c> frame, and a
/// client that goes away cancels the upstream call at once.
/// <para>
/// Pass-through requests come here too rather than to YARP's <c>IHttpForwarder</c> (which the control plane uses,
/// <see cref="ControlPlaneForwarder"/>): they need the model calls' retries before the first byte, breakers and
/// fallback, and the response reader that records who created a batch or file, while YARP sends once to one
/// destination. Every failure, whichever the path, is reported through <see cref="ForwardingFailures.Report"/>.
/// </para>
/// </remarks>
internal sealed partial class UpstreamForwarder(
    UpstreamHttp http,
    UpstreamCatalog catalog,
    IOptions<UpstreamOptions> options,
    TimeProvider time,
    ILogger<UpstreamForwarder> logger,
    UpstreamAccountTokens? accountTokens = null)
{
    private readonly HttpMessageInvoker _invoker = http.Invoker;
    private readonly TimeSpan _firstByteTimeout = options.Value.FirstByteTimeout;
    private readonly TimeSpan _activityTimeout = options.Value.ActivityTimeout;
    private readonly int _maxRetries = options.Value.MaxRetries;
    private readonly TimeSpan _retryBaseDelay = options.Value.RetryBaseDelay;
    private readonly TimeSpan _maxRetryDelay = options.Value.MaxRetryDelay;

    public async Task<ForwardResult> ForwardAsync(HttpContext context, ForwardRequest request, CancellationToken cancellationToken)
    {
        var sendStarted = time.GetTimestamp();
        var replayable = !request.StreamsRequestBody;
        UpstreamEndpoint? endpoint = null;
        HttpRequestMessage? message = null;
        HttpResponseMessage? response = null;
        CancellationTokenSource? exchange = null;
        var attempt = 0;
        var plan = request.Plan;
        // With several targets every one gets a chance before the request fails (fallback chain).
        var maxRetries = plan is null ? _maxRetries : Math.Max(_maxRetries, plan.Targets.Count - 1);
        var probe = false;
        var sameTargetAgain = false;
        try
        {
            while (true)
            {
                var previous = endpoint;
                // A request that names no model (pass-through) goes to the default upstream; a renewed OAuth token goes
                // to the same target again.
                endpoint = sameTargetAgain ? previous : plan is null ? catalog.Primary : plan.Next();
                sameTargetAgain = false;
                if (endpoint is null)
                {
                    return await FailNoTargetAsync(context, request, plan!, previous, attempt, sendStarted);
                }

                probe = plan?.Probe ?? false;
                exchange = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                exchange.CancelAfter(endpoint.FirstByteTimeout ?? _firstByteTimeout);
                message = CreateMessage(context, request, endpoint);
                ForwardingFailure failure;
                Exception? error;
                try
                {
                    response = await _invoker.SendAsync(message, exchange.Token);
                    // A 401/403 is this target's key refused: the target is broken for every caller, like a 5xx.
                    var keyRefused = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                    var oauthRefused = keyRefused && UsesOAuth(request, endpoint);
                    if (oauthRefused && request.OAuth is { Renewed: false } grant && replayable && accountTokens is not null)
                    {
                        // One account's token refused says nothing about the target: no breaker, ask TokenService to
                        // refresh once (it refreshes only if this is still the stored token) and send again.
                        grant.Renewed = true;
                        var renewed = await accountTokens.GetAsync(grant.AccountId, grant.Token, cancellationToken);
                        if (renewed.Token is { } fresh)
                        {
                            grant.Token = fresh;
                            endpoint.Breaker?.Release(probe);
                            Discard(ref response, ref message, ref exchange);
                            sameTargetAgain = true;
                            continue;
                        }
                    }

                    var failed = (keyRefused && !oauthRefused) || IsFailure(response);
                    if (failed)
                    {
                        endpoint.Breaker?.OnFailure();
                    }
                    else
                    {
                        endpoint.Breaker?.OnSuccess();
                    }

                    var fallback = plan is not null && plan.Targets.Count > 1;
                    if (keyRefused && fallback && attempt < maxRetries && replayable)
                    {
                        LogUpstreamRefusedCredential(logger, request.RequestId, endpoint.Name, (int)response.StatusCode, "trying the next target");
                        Discard(ref response, ref message, ref exchange);
                        attempt++;
                        continue;
                    }

                    if (failed && attempt < maxRetries && replayable && IsRetryable(response))
                    {
                        // Another target is tried at once; the same one again after a backoff (or its retry-after).
                        var delay = TimeSpan.Zero;
                        if (fallback || TryGetRetryDelay(response, attempt, out delay))
                        {
                            LogRetryingStatus(logger, request.RequestId, endpoint.Name, (int)response.StatusCode, attempt + 1, delay.TotalMilliseconds);
                            Discard(ref response, ref message, ref exchange);
                            if (delay > TimeSpan.Zero)
                            {
                                await Task.Delay(delay, time, cancellationToken);
                            }

                            attempt++;
                            continue;
                        }
                    }

                    break;
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
                {
                    error = ex;
                    failure = Classify(ex, cancellationToken);
                }

                if (failure is ForwardingFailure.UpstreamUnreachable or ForwardingFailure.UpstreamTimeout)
                {
                    endpoint.Breaker?.OnFailure();
                }
                else
                {
                    endpoint.Breaker?.Release(probe);
                }

                var canFallBack = failure == ForwardingFailure.UpstreamTimeout && plan is not null && plan.Targets.Count > 1;
                if ((failure == ForwardingFailure.UpstreamUnreachable || canFallBack) && attempt < maxRetries && replayable)
                {
                    var delay = plan is not null && plan.Targets.Count > 1 ? TimeSpan.Zero : Backoff(attempt);
                    LogRetryingError(logger, request.RequestId, endpoint.Name, error.Message, attempt + 1, delay.TotalMilliseconds);
                    Discard(ref response, ref message, ref exchange);
                    try
                    {
                        if (delay > TimeSpan.Zero)
                        {
                            await Task.Delay(delay, time, cancellationToken);
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        return Failed(ForwardingFailure.RequestCanceled, endpoint, attempt + 1, sendStarted, error);
                    }

                    attempt++;
                    continue;
                }

                return await FailBeforeResponseAsync(context, request, failure, endpoint, attempt + 1, sendStarted, error);
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // The provider refused the key the gateway put on the request, not the caller's.
                var refusal = new HttpRequestException($"upstream answered {(int)response.StatusCode} {await ReadSnippetAsync(response, exchange.Token)}");
                LogUpstreamRefusedCredential(logger, request.RequestId, endpoint.Name, (int)response.StatusCode, refusal.Message);
                return await FailBeforeResponseAsync(context, request, ForwardingFailure.UpstreamRejectedCredential, endpoint, attempt + 1, sendStarted, refusal);
            }

            // The response has started: the first-byte timer gives way to the activity timer, which every read re-arms.
            var activity = new ActivityTimer(exchange, _activityTimeout);
            activity.Touch();
            return await SendResponseAsync(context, request, response, endpoint, attempt + 1, sendStarted, activity, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled while waiting between attempts.
            return Failed(ForwardingFailure.RequestCanceled, endpoint, attempt + 1, sendStarted, null);
        }
        finally
        {
            // Disposing an unfinished response aborts its connection: the upstream sees the cancellation at once.
            response?.Dispose();
            message?.Dispose();
            exchange?.Dispose();
        }
    }

    /// <summary>
    /// A GET the gateway makes on its own behalf (the model list) to <paramref name="endpoint"/>, with its key, read
    /// whole. <paramref name="deadline"/> bounds the call; a failure to get any answer is reported here like a
    /// caller's, unless <paramref name="cancellationToken"/> (the caller's) ended it, which throws.
    /// </summary>
    public async Task<UpstreamFetch> FetchAsync(
        UpstreamEndpoint endpoint, string pathAndQuery, CancellationToken deadline, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, endpoint.BuildUri(pathAndQuery))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        message.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        HeaderPolicy.AddUpstreamKey(message, endpoint.ApiKey, endpoint.AuthHeader, endpoint.AuthScheme);

        try
        {
            using var response = await _invoker.SendAsync(message, deadline);
            var body = await response.Content.ReadAsByteArrayAsync(deadline);
            return new UpstreamFetch(ForwardingFailure.None, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), body);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var failure = Classify(ex, cancellationToken);
            var report = ForwardingFailures.Report(logger, failure, "-", Target(endpoint) + " " + pathAndQuery, 1, ex);
            return new UpstreamFetch(failure, report.Status, null, null);
        }
    }

    private async Task<ForwardResult> SendResponseAsync(
        HttpContext context, ForwardRequest request, HttpResponseMessage upstream, UpstreamEndpoint endpoint, int attempts,
        long sendStarted, ActivityTimer activity, CancellationToken clientToken)
    {
        var exchangeToken = activity.Token;
        var headersReceived = time.GetTimestamp();
        var status = (int)upstream.StatusCode;
        var response = context.Response;
        response.StatusCode = status;
        HeaderPolicy.CopyToClient(upstream, response, fromModelProvider: true);
        response.Headers[HeaderPolicy.RequestIdHeader] = request.RequestId;
        var translated = TranslatesFor(request, endpoint);
        if (attempts > 1 && IsRetryableStatus(status))
        {
            // The gateway has already spent its retries on this failure: an SDK retrying too would multiply them.
            response.Headers["x-should-retry"] = "false";
        }

        var mediaType = upstream.Content.Headers.ContentType?.MediaType;
        var eventStream = string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
        if (translated)
        {
            // The body becomes an Anthropic one of another length.
            response.ContentLength = null;
            if (!eventStream)
            {
                response.ContentType = "application/json";
            }
        }

        ForwardResult Result(ForwardingFailure failure, long firstByte, Exception? error) =>
            new(failure, failure == ForwardingFailure.ResponseBodyClient ? ForwardingFailures.ClientClosedRequest : status,
                endpoint, attempts, eventStream, sendStarted, headersReceived, firstByte, error);

        if (HttpMethods.IsHead(context.Request.Method) || status is 204 or 304)
        {
            return Result(ForwardingFailure.None, 0, null);
        }

        Stream body;
        try
        {
            if (eventStream)
            {
                context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                // Headers go out now (StartAsync alone only buffers them): the client learns the stream is open
                // before the first event, however long that takes.
                await response.StartAsync(exchangeToken);
                await response.Body.FlushAsync(exchangeToken);
            }

            body = await upstream.Content.ReadAsStreamAsync(exchangeToken);
            if (translated)
            {
                body = await OpenAiUpstream.TranslateResponseAsync(body, status, eventStream, request.RequestId, exchangeToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            var kind = clientToken.IsCancellationRequested ? ForwardingFailure.ResponseBodyClient : ForwardingFailure.ResponseBodyUpstream;
            return await EndFailedResponseAsync(context, request, Result(kind, 0, ex), clientToken);
        }

        var copy = eventStream && request.EventReader is { } reader
            ? await StreamCopier.CopyEventsAsync(body, response.BodyWriter, reader, time, activity)
            : await StreamCopier.CopyAsync(body, response.Body, eventStream ? null : request.JsonReader, eventStream, time, activity);

        var failure = copy.Outcome switch
        {
            CopyOutcome.Completed when eventStream && request.EventReader is { Completed: false, ErrorType: null } => ForwardingFailure.ResponseBodyUpstream,
            CopyOutcome.Completed => ForwardingFailure.None,
            CopyOutcome.DestinationFailed => ForwardingFailure.ResponseBodyClient,
            CopyOutcome.Canceled when clientToken.IsCancellationRequested => ForwardingFailure.ResponseBodyClient,
            CopyOutcome.Canceled => ForwardingFailure.ResponseBodyStalled,
            _ => ForwardingFailure.ResponseBodyUpstream,
        };

        var error = failure == ForwardingFailure.ResponseBodyStalled
            ? new TimeoutException($"the upstream sent nothing for {_activityTimeout.TotalSeconds:0.###} s (Upstream:ActivityTimeout)")
            : copy.Error;
        var result = Result(failure, copy.FirstByteTimestamp, error);
        return failure == ForwardingFailure.None ? result : await EndFailedResponseAsync(context, request, result, clientToken);
    }

    /// <summary>Ends a response that started but could not be completed; the status line is already sent.</summary>
    private async Task<ForwardResult> EndFailedResponseAsync(HttpContext context, ForwardRequest request, ForwardResult result, CancellationToken clientToken)
    {
        var clientGone = result.Failure == ForwardingFailure.ResponseBodyClient;
        var report = ForwardingFailures.Report(logger, result.Failure, request.RequestId, Target(result.Upstream), result.Attempts, result.Error,
            result.Error is null && !clientGone ? "stream ended before message_stop" : null);
        if (clientGone)
        {
            return result;
        }

        if (result.EventStream && request.EventReader is not null && !clientToken.IsCancellationRequested)
        {
            // Never a clean-looking end: SDKs raise the error frame as an exception.
            try
            {
                var frame = AnthropicErrors.SseErrorFrame(report.ErrorType, report.Message, request.RequestId);
                await context.Response.Body.WriteAsync(frame, clientToken);
                await context.Response.Body.FlushAsync(clientToken);
                return result;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
                return result with { Failure = ForwardingFailure.ResponseBodyClient, StatusCode = ForwardingFailures.ClientClosedRequest };
            }
        }

        // A plain body cannot carry an error any more: break the connection so the client cannot take a truncated
        // body for a complete one.
        context.Abort();
        return result;
    }

    private async Task<ForwardResult> FailBeforeResponseAsync(
        HttpContext context, ForwardRequest request, ForwardingFailure failure, UpstreamEndpoint endpoint, int attempts, long sendStarted, Exception? error)
    {
        var result = Failed(failure, endpoint, attempts, sendStarted, error);
        if (failure == ForwardingFailure.RequestCanceled)
        {
            return result;
        }

        var report = ForwardingFailures.Report(logger, failure, request.RequestId, Target(endpoint), attempts, error);
        if (!context.Response.HasStarted)
        {
            if (attempts > 1 || failure == ForwardingFailure.UpstreamRejectedCredential)
            {
                // Retried here already, or a key only the operator can fix: the SDK must not try again.
                context.Response.Headers["x-should-retry"] = "false";
            }

            await AnthropicErrors.WriteAsync(context, report.Status, report.ErrorType, report.Message, request.RequestId);
        }

        return result with { StatusCode = report.Status };
    }

    /// <summary>
    /// No target may be tried: none serves the model, or every breaker is open, possibly because the earlier
    /// attempts of this request opened them (fast failure, with <c>retry-after</c> until the earliest probe).
    /// </summary>
    private async Task<ForwardResult> FailNoTargetAsync(
        HttpContext context, ForwardRequest request, Routing.RoutePlan plan, UpstreamEndpoint? previous, int attempts, long sendStarted)
    {
        var failure = plan.Targets.Count == 0 ? ForwardingFailure.NoUpstreamForModel : ForwardingFailure.NoHealthyUpstream;
        var report = ForwardingFailures.Report(logger, failure, request.RequestId, "no upstream target", attempts, null, "none could be tried");
        if (!context.Response.HasStarted)
        {
            if (failure == ForwardingFailure.NoHealthyUpstream)
            {
                var wait = plan.WaitTime();
                context.Response.Headers.RetryAfter = RetryAfter.HeaderValue(wait);
            }

            await AnthropicErrors.WriteAsync(context, report.Status, report.ErrorType, report.Message, request.RequestId);
        }

        return Failed(failure, previous, attempts, sendStarted, null) with { StatusCode = report.Status };
    }

    private static string Target(UpstreamEndpoint? endpoint) => "upstream " + (endpoint?.Name ?? "-");

    private static ForwardResult Failed(ForwardingFailure failure, UpstreamEndpoint? endpoint, int attempts, long sendStarted, Exception? error) =>
        new(failure, ForwardingFailures.ClientClosedRequest, endpoint, attempts, false, sendStarted, 0, 0, error);

    private static ForwardingFailure Classify(Exception exception, CancellationToken clientToken)
    {
        if (clientToken.IsCancellationRequested)
        {
            return ForwardingFailure.RequestCanceled;
        }

        if (RequestBodyReader.FindBadRequest(exception) is not null)
        {
            return ForwardingFailure.RequestBody;
        }

        // Our own first-byte timer is the only other source of cancellation.
        return exception is OperationCanceledException ? ForwardingFailure.UpstreamTimeout : ForwardingFailure.UpstreamUnreachable;
    }

    /// <summary>Whether this attempt sends the Messages request to an OpenAI-compatible target in its own format.</summary>
    private static bool TranslatesFor(ForwardRequest request, UpstreamEndpoint endpoint) =>
        endpoint.Kind == UpstreamKind.OpenAI && request.OpenAiBody is not null;

    private static HttpRequestMessage CreateMessage(HttpContext context, ForwardRequest request, UpstreamEndpoint endpoint)
    {
        var translated = TranslatesFor(request, endpoint);
        var target = translated ? endpoint.GetFixedUri(OpenAiUpstream.ChatCompletionsPath)
            : request.FixedTarget ? endpoint.GetFixedUri(request.PathAndQuery) : endpoint.BuildUri(request.PathAndQuery);
        var message = new HttpRequestMessage(HttpMethod.Parse(context.Request.Method), target)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };

        if ((translated ? request.OpenAiBody : request.Body) is { } body)
        {
            if (body.Length > 0 || !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                message.Content = new PooledBodyContent(body);
            }
        }
        else if (HasBody(context.Request))
        {
            message.Content = new StreamContent(context.Request.Body);
        }

        if (UsesOAuth(request, endpoint))
        {
            HeaderPolicy.CopyToUpstream(context.Request.Headers, message, request.OAuth!.Token, "Authorization", "Bearer ");
            message.Headers.TryAddWithoutValidation(UpstreamOAuthGrant.BetaHeader, UpstreamOAuthGrant.BetaValue);
        }
        else
        {
            HeaderPolicy.CopyToUpstream(context.Request.Headers, message, endpoint.ApiKey, endpoint.AuthHeader, endpoint.AuthScheme);
        }

        return message;
    }

    /// <summary>An upstream OAuth account's token replaces the configured key on Anthropic targets only.</summary>
    private static bool UsesOAuth(ForwardRequest request, UpstreamEndpoint endpoint) =>
        request.OAuth is not null && endpoint.Kind == UpstreamKind.Anthropic;

    internal static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>A status that counts against the target's breaker and allows a retry or fallback.</summary>
    private static bool IsRetryableStatus(int status) => status is 408 or 409 or 429 or >= 500;

    private static bool IsFailure(HttpResponseMessage response) => IsRetryableStatus((int)response.StatusCode);

    private static bool IsRetryable(HttpResponseMessage response)
    {
        if (!IsFailure(response))
        {
            return false;
        }

        // The provider can say a failure is final.
        return !(response.Headers.NonValidated.TryGetValues("x-should-retry", out var values)
                 && string.Equals(values.ToString(), "false", StringComparison.OrdinalIgnoreCase));
    }

    private bool TryGetRetryDelay(HttpResponseMessage response, int attempt, out TimeSpan delay)
    {
        var asked = RetryAfter.Read(response.Headers, time.GetUtcNow());
        if (asked is { } wait)
        {
            // Waiting longer than the limit would hold the client for nothing it cannot do itself.
            delay = wait;
            return wait <= _maxRetryDelay;
        }

        delay = Backoff(attempt);
        return true;
    }

    private TimeSpan Backoff(int attempt)
    {
        var jitter = 1 - 0.25 * Random.Shared.NextDouble();
        return TimeSpan.FromTicks((long)(_retryBaseDelay.Ticks * Math.Pow(2, attempt) * jitter));
    }

    /// <summary>The start of an error body, for the log (never the caller): what the provider said about the key.</summary>
    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var buffer = new byte[512];
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException)
        {
            return "";
        }
    }

    private static void Discard(ref HttpResponseMessage? response, ref HttpRequestMessage? message, ref CancellationTokenSource? exchange)
    {
        response?.Dispose();
        response = null;
        message?.Dispose();
        message = null;
        exchange?.Dispose();
        exchange = null;
    }

    [LoggerMessage(1201, LogLevel.Information, "{RequestId}: upstream {Upstream} answered {Status}; retry {Retry} in {DelayMs:F0} ms")]
    private static partial void LogRetryingStatus(ILogger logger, string requestId, string upstream, int status, int retry, double delayMs);

    [LoggerMessage(1202, LogLevel.Information, "{RequestId}: upstream {Upstream} failed ({Reason}); retry {Retry} in {DelayMs:F0} ms")]
    private static partial void LogRetryingError(ILogger logger, string requestId, string upstream, string reason, int retry, double delayMs);

    [LoggerMessage(1207, LogLevel.Error, "{RequestId}: upstream {Upstream} refused the gateway's provider credential ({Status}); check its configured key: {Detail}")]
    private static partial void LogUpstreamRefusedCredential(ILogger logger, string requestId, string upstream, int status, string detail);
}
