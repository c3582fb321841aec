using System.Globalization;
using System.Net;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Builds the answer of <c>GET /admin/credentials/{id}/limits</c> (<see cref="Apis.LimitsAdminApi"/>): the credential
/// and its lineage from TokenService (which authorizes the caller), the limits the gateway applies, and the live
/// counters and quota leases in Redis.
/// </summary>
internal sealed partial class CredentialLimitsView(
    IHttpClientFactory clients,
    LimitPlanner planner,
    RedisLimitStore shared,
    TimeProvider time,
    IOptions<LimitOptions> options,
    ILogger<CredentialLimitsView> logger)
{
    private const int MaxLineage = 32;

    public async Task WriteAsync(HttpContext context, string id)
    {
        var requestId = RequestIds.Of(context);
        var client = clients.CreateClient(ControlPlaneForwarder.TokenServiceClient);
        Fetched credential;
        try
        {
            credential = await FetchAsync(client, context, id, requestId);
            if (credential.Error is { } error)
            {
                // TokenService's own answer (401, 403, 404, 503): passed on unchanged.
                context.Response.StatusCode = (int)error.Status;
                context.Response.ContentType = error.ContentType ?? "application/json";
                context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
                await context.Response.WriteAsync(error.Body, context.RequestAborted);
                return;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or JsonException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            LogTokenServiceFailed(logger, requestId, ex.Message);
            await AnthropicErrors.WriteAsync(context, 502, AnthropicErrors.Api, "TokenService could not be asked for the credential.", requestId);
            return;
        }

        var projection = credential.Projection!;
        var ancestors = new List<CredentialAncestor>();
        for (var parentId = projection.ParentId; parentId is not null && ancestors.Count < MaxLineage;)
        {
            Fetched parent;
            try
            {
                parent = await FetchAsync(client, context, parentId, requestId);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or JsonException)
            {
                LogTokenServiceFailed(logger, requestId, ex.Message);
                break;
            }

            if (parent.Projection is not { } p || ancestors.Any(a => a.Id == p.Id))
            {
                break;
            }

            ancestors.Add(new CredentialAncestor { Id = p.Id, Kind = p.Kind, Limits = p.Limits });
            parentId = p.ParentId;
        }

        // Lineage entries that are not credentials (the local account owning a self-service key) come from the projection.
        foreach (var ancestor in projection.Ancestors ?? [])
        {
            if (!ancestors.Any(a => a.Id == ancestor.Id))
            {
                ancestors.Add(ancestor);
            }
        }

        var profile = planner.ProfileOf(projection with { Ancestors = ancestors });
        var now = time.GetUtcNow();
        SubjectUsage[]? usage = null;
        var windowReset = DateTimeOffset.FromUnixTimeMilliseconds((now.ToUnixTimeMilliseconds() / LimitScripts.WindowMs + 1) * LimitScripts.WindowMs);
        if (options.Value.Enabled && shared.IsAvailable)
        {
            try
            {
                (windowReset, usage) = await shared.ReadAsync(profile.Subjects, now);
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
            {
                LogRedisFailed(logger, requestId, ex.Message);
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            Write(writer, credential, profile, usage, windowReset, now);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private void Write(Utf8JsonWriter writer, Fetched credential, LimitProfile profile, SubjectUsage[]? usage, DateTimeOffset windowReset, DateTimeOffset now)
    {
        var projection = credential.Projection!;
        writer.WriteStartObject();
        writer.WriteString("id", projection.Id);
        writer.WriteString("kind", CredentialKindNames.Of(projection.Kind));
        writer.WriteString("status", credential.Status);
        writer.WriteString("parent_id", projection.ParentId);
        writer.WriteStartObject("owner");
        writer.WriteString("type", projection.Owner.Type);
        writer.WriteString("id", projection.Owner.Id);
        writer.WriteEndObject();
        writer.WriteStartArray("models");
        foreach (var model in projection.Models)
        {
            writer.WriteStringValue(model);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("routes");
        foreach (var route in projection.Routes)
        {
            writer.WriteStringValue(route);
        }

        writer.WriteEndArray();
        writer.WriteString("expires_at", projection.ExpiresAt is { } expiresAt ? Rfc3339(expiresAt) : null);
        writer.WritePropertyName("limits");
        WriteLimits(writer, projection.Limits);
        writer.WriteBoolean("enabled", options.Value.Enabled);
        writer.WriteStartArray("enforced");
        for (var i = 0; i < profile.Subjects.Count; i++)
        {
            WriteSubject(writer, profile.Subjects[i], usage?[i], windowReset, now);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("usage_available", usage is not null);
        writer.WriteEndObject();
    }

    private static void WriteSubject(Utf8JsonWriter writer, LimitSubject subject, SubjectUsage? usage, DateTimeOffset windowReset, DateTimeOffset now)
    {
        var reset = Rfc3339(windowReset);
        writer.WriteStartObject();
        writer.WriteString("scope", subject.Role switch { SubjectRole.Credential => "credential", SubjectRole.Ancestor => "ancestor", _ => "owner" });
        writer.WriteString("id", subject.Id);
        if (subject.Kind is { } kind)
        {
            writer.WriteString("kind", CredentialKindNames.Of(kind));
        }

        writer.WritePropertyName("requests_per_minute");
        WriteRate(writer, subject.RequestsPerMinute, Source(subject, subject.Own.RequestsPerMinute is not null), usage?.Requests, reset);
        writer.WritePropertyName("tokens_per_minute");
        WriteRate(writer, subject.TokensPerMinute, Source(subject, subject.Own.TokensPerMinute is not null), usage?.Tokens, reset);

        writer.WritePropertyName("concurrent");
        if (subject.MaxConcurrent > 0)
        {
            writer.WriteStartObject();
            writer.WriteNumber("limit", subject.MaxConcurrent);
            writer.WriteString("source", Source(subject, subject.Own.MaxConcurrent is not null));
            WriteNumberOrNull(writer, "in_flight", usage?.InFlight);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WritePropertyName("budget");
        if (subject.HasBudget)
        {
            writer.WriteStartObject();
            writer.WriteNumber("limit_usd", subject.BudgetNanoUsd / LimitSubject.NanoPerUsd);
            writer.WriteString("source", Source(subject, !subject.BudgetFromDefaults));
            writer.WriteString("period", subject.BudgetPeriod);
            writer.WriteString("period_key", Contracts.RedisKeys.BudgetPeriodKey(subject.BudgetPeriod, now));
            if (usage is { } u)
            {
                writer.WriteNumber("spent_usd", u.SpentNanoUsd / LimitSubject.NanoPerUsd);
                var leased = u.Leases.Sum(l => l.NanoUsd);
                writer.WriteNumber("reserved_usd", u.ReservedNanoUsd / LimitSubject.NanoPerUsd);
                writer.WriteNumber("leased_usd", leased / LimitSubject.NanoPerUsd);
                writer.WriteNumber("remaining_usd", Math.Max(0, subject.BudgetNanoUsd - u.SpentNanoUsd - u.ReservedNanoUsd - leased) / LimitSubject.NanoPerUsd);
            }
            else
            {
                writer.WriteNull("spent_usd");
                writer.WriteNull("reserved_usd");
                writer.WriteNull("leased_usd");
                writer.WriteNull("remaining_usd");
            }

            var utc = now.UtcDateTime;
            DateTimeOffset? resets = subject.BudgetPeriod switch
            {
                "daily" => new DateTimeOffset(utc.Date, TimeSpan.Zero).AddDays(1),
                "monthly" => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1),
                _ => null,
            };
            writer.WriteString("resets_at", resets is { } r ? Rfc3339(r) : null);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WritePropertyName("leases");
        if (usage is { } held)
        {
            writer.WriteStartArray();
            foreach (var lease in held.Leases)
            {
                writer.WriteStartObject();
                writer.WriteString("instance", lease.Instance);
                writer.WriteString("expires_at", Rfc3339(lease.Expires));
                writer.WriteNumber("requests", lease.Requests);
                writer.WriteNumber("tokens", lease.Tokens);
                writer.WriteNumber("slots", lease.Slots);
                writer.WriteNumber("budget_usd", lease.NanoUsd / LimitSubject.NanoPerUsd);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteEndObject();
    }

    private static void WriteRate(Utf8JsonWriter writer, int limit, string source, long? used, string reset)
    {
        if (limit <= 0)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        writer.WriteNumber("limit", limit);
        writer.WriteString("source", source);
        WriteNumberOrNull(writer, "used", used);
        WriteNumberOrNull(writer, "remaining", used is { } u ? Math.Max(0, limit - u) : null);
        writer.WriteString("reset", reset);
        writer.WriteEndObject();
    }

    private static void WriteLimits(Utf8JsonWriter writer, CredentialLimits limits)
    {
        writer.WriteStartObject();
        WriteNumberOrNull(writer, "requests_per_minute", limits.RequestsPerMinute);
        WriteNumberOrNull(writer, "tokens_per_minute", limits.TokensPerMinute);
        WriteNumberOrNull(writer, "max_concurrent", limits.MaxConcurrent);
        if (limits.BudgetUsd is { } budget)
        {
            writer.WriteNumber("budget_usd", budget);
        }
        else
        {
            writer.WriteNull("budget_usd");
        }

        writer.WriteString("budget_period", limits.BudgetPeriod);
        writer.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static string Source(LimitSubject subject, bool own) =>
        subject.Role == SubjectRole.Owner ? "configuration" : own ? "credential" : "default";

    private static string Rfc3339(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>GET /admin/credentials/{id} on TokenService with the caller's credential.</summary>
    private static async Task<Fetched> FetchAsync(HttpClient client, HttpContext context, string id, string requestId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/credentials/" + Uri.EscapeDataString(id));
        foreach (var header in (ReadOnlySpan<string>)["x-api-key", "Authorization"])
        {
            if (context.Request.Headers.TryGetValue(header, out var value))
            {
                request.Headers.TryAddWithoutValidation(header, value.ToArray());
            }
        }

        request.Headers.TryAddWithoutValidation(RequestIds.Header, requestId);
        using var response = await client.SendAsync(request, context.RequestAborted);
        var body = await response.Content.ReadAsStringAsync(context.RequestAborted);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new Fetched(null, "", new FetchError(response.StatusCode, response.Content.Headers.ContentType?.ToString(), body));
        }

        var projection = CredentialProjectionJson.Normalize(JsonSerializer.Deserialize(body, CredentialProjectionJson.TypeInfo))
            ?? throw new JsonException("TokenService answered without a credential.");
        using var document = JsonDocument.Parse(body);
        var status = document.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
        return new Fetched(projection, status, null);
    }

    private sealed record Fetched(CredentialProjection? Projection, string Status, FetchError? Error);

    private sealed record FetchError(HttpStatusCode Status, string? ContentType, string Body);

    [LoggerMessage(1531, LogLevel.Warning, "{RequestId}: the limits view could not ask TokenService: {Reason}")]
    private static partial void LogTokenServiceFailed(ILogger logger, string requestId, string reason);

    [LoggerMessage(1532, LogLevel.Warning, "{RequestId}: the limits view could not read Redis: {Reason}")]
    private static partial void LogRedisFailed(ILogger logger, string requestId, string reason);
}
