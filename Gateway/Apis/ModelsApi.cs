using System.Globalization;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Translation;
using LlmGateway.Gateway.Usage;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: only the models the caller may use, in Anthropic's page
/// shape (<c>data</c>, <c>has_more</c>, <c>first_id</c>, <c>last_id</c>; <c>limit</c> 1–1000, default 20;
/// <c>after_id</c>/<c>before_id</c> cursors). The model objects are the upstream's, unchanged.
/// </summary>
internal static class ModelsApi
{
    private const int DefaultLimit = 20;
    private const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/v1/models");
        models.MapGet("", ListAsync);
        models.MapGet("/{**id}", GetAsync);
        models.WithMetadata(new OpenAiShape(OpenAiModelList.Wanted)).RequireAuthorization(CallerPolicies.ModelApi);
        return routes;
    }

    private static async Task ListAsync(HttpContext context, [AsParameters] ModelsApiServices services)
    {
        var time = services.Time;
        var started = time.GetTimestamp();
        var requestId = RequestIds.Of(context);
        // OpenAI clients get OpenAI's list, and every error in OpenAI's shape.
        var openAi = OpenAiModelList.Wanted(context.Request) ? OpenAiResponseBody.Install(context) : null;
        try
        {
            var credential = GatewayCallerAuthenticator.CredentialOf(context);
            var inOpenAiShape = openAi is not null;
            await ServeAdmittedAsync(context, credential, services, requestId, started,
                () => WriteListAsync(context, credential, requestId, services, inOpenAiShape));
        }
        finally
        {
            if (openAi is not null)
            {
                await openAi.CompleteAsync();
            }
        }
    }

    /// <summary>Admission (requests/min, concurrency), the answer, settlement and one usage event, for both models routes.</summary>
    private static async Task ServeAdmittedAsync(
        HttpContext context, CredentialProjection credential, ModelsApiServices services, string requestId, long started,
        Func<Task<(int Status, string? ErrorType)>> write)
    {
        var admitted = await services.Admission.AdmitAsync(context, credential, "/v1/models", requestId);
        var (status, errorType) = (admitted.Status, admitted.ErrorType);
        if (admitted.Ok)
        {
            (status, errorType) = await write();
            await services.Admission.SettleAsync(admitted, status, errorType);
        }

        await services.Usage.EmitAsync(UsageRecords.WithoutTokens(
            requestId, services.Time, services.Time.GetElapsedTime(started), credential, "/v1/models", services.Upstreams.Primary.Name, status, errorType));
    }

    private static async Task<(int Status, string? ErrorType)> WriteListAsync(
        HttpContext context, CredentialProjection credential, string requestId, ModelsApiServices services, bool openAi)
    {
        var query = context.Request.Query;
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest, $"limit: Input should be between 1 and {MaxLimit}", requestId);
            return (400, AnthropicErrors.InvalidRequest);
        }

        string? afterId = query["after_id"];
        string? beforeId = query["before_id"];
        if (afterId is not null && beforeId is not null)
        {
            await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest, "Only one of after_id and before_id may be given.", requestId);
            return (400, AnthropicErrors.InvalidRequest);
        }

        var list = await services.ModelList.GetAsync(context.RequestAborted);
        if (list.Models is not { } models)
        {
            return await WriteUpstreamFailureAsync(context, list, requestId);
        }

        var allowed = new List<UpstreamModel>(models.Count);
        foreach (var model in models)
        {
            if (ModelPatterns.IsAllowed(credential.Models, model.Id))
            {
                allowed.Add(model);
            }
        }

        if (openAi)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
            context.Response.Headers["x-request-id"] = requestId;
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            OpenAiModelList.Write(writer, allowed, "anthropic");
            return (200, null);
        }

        // The upstream's order is kept (newest first); cursors are positions in the caller's filtered list.
        int start, end;
        bool hasMore;
        if (beforeId is not null)
        {
            end = IndexOf(allowed, beforeId);
            if (end < 0)
            {
                end = 0;
            }

            start = Math.Max(0, end - limit);
            hasMore = start > 0;
        }
        else
        {
            start = afterId is null ? 0 : IndexOf(allowed, afterId) is var i and >= 0 ? i + 1 : allowed.Count;
            end = Math.Min(allowed.Count, start + limit);
            hasMore = end < allowed.Count;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("data"u8);
            for (var i = start; i < end; i++)
            {
                writer.WriteRawValue(allowed[i].Json, skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("has_more"u8, hasMore);
            if (end > start)
            {
                writer.WriteString("first_id"u8, allowed[start].Id);
                writer.WriteString("last_id"u8, allowed[end - 1].Id);
            }
            else
            {
                writer.WriteNull("first_id"u8);
                writer.WriteNull("last_id"u8);
            }

            writer.WriteEndObject();
        }

        return (200, null);
    }

    private static async Task GetAsync(HttpContext context, string id, [AsParameters] ModelsApiServices services)
    {
        // As for the list: OpenAI clients get OpenAI's model object and every error in OpenAI's shape.
        var openAi = OpenAiModelList.Wanted(context.Request) ? OpenAiResponseBody.Install(context) : null;
        try
        {
            await GetForCallerAsync(context, id, services, openAi is not null);
        }
        finally
        {
            if (openAi is not null)
            {
                await openAi.CompleteAsync();
            }
        }
    }

    private static async Task GetForCallerAsync(HttpContext context, string id, ModelsApiServices services, bool openAi)
    {
        var time = services.Time;
        var started = time.GetTimestamp();
        var requestId = RequestIds.Of(context);
        var credential = GatewayCallerAuthenticator.CredentialOf(context);
        if (!ModelPatterns.IsAllowed(credential.Models, id))
        {
            // Models the caller may not use do not exist for it, as in the list.
            await AnthropicErrors.WriteAsync(context, 404, AnthropicErrors.NotFound, $"model: {id}", requestId);
            await services.Usage.EmitAsync(UsageRecords.WithoutTokens(
                requestId, time, time.GetElapsedTime(started), credential, "/v1/models", null, 404, AnthropicErrors.NotFound));
            return;
        }

        if (openAi)
        {
            // OpenAI's model object from the same cached list as /v1/models (404 in OpenAI's shape).
            await ServeAdmittedAsync(context, credential, services, requestId, started, () => WriteModelAsync(context, id, requestId, services));
            return;
        }

        await services.Passthrough.ForwardAsync(context, credential, requestId, started);
    }

    /// <summary>
    /// An OpenAI client's <c>GET /v1/models/{id}</c>: the model from the same cached list as <c>/v1/models</c>, as
    /// OpenAI's model object, or a 404 in OpenAI's shape.
    /// </summary>
    private static async Task<(int Status, string? ErrorType)> WriteModelAsync(HttpContext context, string id, string requestId, ModelsApiServices services)
    {
        var list = await services.ModelList.GetAsync(context.RequestAborted);
        if (list.Models is not { } models)
        {
            return await WriteUpstreamFailureAsync(context, list, requestId);
        }

        var index = IndexOf(models, id);
        if (index < 0)
        {
            await AnthropicErrors.WriteAsync(context, 404, AnthropicErrors.NotFound, $"The model '{id}' does not exist or you do not have access to it.", requestId);
            return (404, AnthropicErrors.NotFound);
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
        context.Response.Headers["x-request-id"] = requestId;
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        OpenAiModelList.WriteModel(writer, models[index], "anthropic");
        return (200, null);
    }

    private static async Task<(int Status, string? ErrorType)> WriteUpstreamFailureAsync(HttpContext context, ModelListResult list, string requestId)
    {
        if (list.ErrorBody is { } body)
        {
            // The upstream's own answer, unmodified.
            context.Response.StatusCode = list.Status;
            context.Response.ContentType = list.ContentType ?? "application/json";
            context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
            return (list.Status, AnthropicErrors.TypeForStatus(list.Status));
        }

        var failure = ForwardingFailures.Describe(list.Failure);
        await AnthropicErrors.WriteAsync(context, failure.Status, failure.ErrorType, failure.Message, requestId);
        return (failure.Status, failure.Tag);
    }

    private static int IndexOf(IReadOnlyList<UpstreamModel> models, string id)
    {
        for (var i = 0; i < models.Count; i++)
        {
            if (string.Equals(models[i].Id, id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>What the models endpoints need, bound from DI.</summary>
internal sealed record ModelsApiServices(
    UpstreamModelList ModelList,
    UpstreamCatalog Upstreams,
    PassthroughPipeline Passthrough,
    UnmeteredAdmission Admission,
    UsageEmitter Usage,
    TimeProvider Time);
