using System.Globalization;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// The admin API (an admin key is required on every route). Every change is audited with its actor and source address.
/// </summary>
/// <remarks>
/// <code>
/// POST   /admin/credentials                 create an API key, admin key or agent token (the only response with the secret),
///                                           or register an external key (external_key)
/// GET    /admin/credentials                 list, newest first: ?kind= &amp;status=active|revoked|expired|all &amp;owner_type= &amp;owner_id=
///                                           &amp;parent_id= &amp;device_id= &amp;limit=1..1000 &amp;after_id=
/// GET    /admin/credentials/{id}            one credential
/// PATCH  /admin/credentials/{id}            change name, models, routes, limits, expires_at
/// POST   /admin/credentials/{id}/revoke     revoke (body {"reason"} optional); DELETE /admin/credentials/{id} does the same
/// GET    /admin/credentials/{id}/limits     scope and limits, as the Gateway enforces them
/// GET    /admin/devices                     bootstrapped devices: ?limit= &amp;after_id=
/// GET    /admin/audit                       audit log, newest first: ?action= &amp;target= &amp;actor_id= &amp;from= &amp;to= &amp;limit= &amp;after_id=
/// POST   /admin/reproject                   re-project every active credential to Redis now
/// </code>
/// </remarks>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").RequireAuthorization(AdminAuthorization.Policy);
        admin.MapPost("/credentials", CreateCredential);
        admin.MapGet("/credentials", ListCredentials);
        admin.MapGet("/credentials/{id}", GetCredential);
        admin.MapPatch("/credentials/{id}", UpdateCredential);
        admin.MapPost("/credentials/{id}/revoke", RevokeCredential);
        admin.MapDelete("/credentials/{id}", RevokeCredential);
        admin.MapGet("/credentials/{id}/limits", GetLimits);
        admin.MapGet("/devices", ListDevices);
        admin.MapGet("/audit", ListAudit);
        admin.MapPost("/reproject", Reproject);
        return app;
    }

    public static async Task<Results<Created<CredentialView>, ApiError>> CreateCredential(
        JsonBody<CreateCredentialRequest> body, [AsParameters] AdminApiServices services, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var kind = request.Kind ?? CredentialKind.ApiKey;
        var now = Timestamps.NowWholeSeconds(services.Time);
        if (kind == CredentialKind.DeviceToken)
        {
            return ApiError.InvalidRequest("Device tokens are issued by POST /bootstrap, not by the admin API.");
        }

        if (kind == CredentialKind.User)
        {
            return ApiError.InvalidRequest("kind user is not a stored credential: people sign in with a JWT of a configured issuer.");
        }

        var invalid = InputRules.Owner(request.Owner)
            ?? InputRules.Label(request.Name, "name", 200)
            ?? ScopeRules.ValidateModels(request.Models)
            ?? ScopeRules.ValidateRoutes(request.Routes)
            ?? ScopeRules.ValidateLimits(request.Limits)
            ?? InputRules.Label(request.AgentName, "agent_name", 128)
            ?? (request.AgentName is not null && kind != CredentialKind.AgentToken ? "agent_name applies to agent tokens only" : null);
        if (invalid is not null)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var (expiresAt, expiryError) = Expiry(request.ExpiresAt, request.Ttl, kind, now);
        if (expiryError is not null)
        {
            return expiryError;
        }

        string secret;
        if (request.ExternalKey is { } externalKey)
        {
            var patterns = services.ExternalKeys.Value.Patterns;
            if (kind != CredentialKind.ApiKey)
            {
                return ApiError.InvalidRequest("external_key can only be registered as an api_key.");
            }

            if (patterns.Count == 0)
            {
                return ApiError.InvalidRequest(
                    "No external key patterns are configured (ExternalKeys:Patterns), so only gateway-issued credentials are accepted.");
            }

            if (!ExternalKeyPattern.MatchesAny(patterns, externalKey))
            {
                return ApiError.InvalidRequest(
                    "external_key does not match any configured pattern (" + string.Join(", ", patterns.Select(p => p.Prefix + "…")) + ").");
            }

            secret = externalKey;
        }
        else
        {
            secret = CredentialFormat.Generate(kind);
        }

        var caller = AdminCaller.Of(http);
        var credential = new Credential
        {
            Id = Credential.NewId(),
            Hash = CredentialFormat.Hash(secret),
            Kind = kind,
            Hint = CredentialFormat.Redact(secret),
            Name = request.Name,
            External = request.ExternalKey is not null,
            Owner = request.Owner!,
            AgentName = request.AgentName,
            Scope = new CredentialScope(
                request.Models ?? CredentialScope.Everything,
                request.Routes ?? CredentialScope.Everything,
                ScopeRules.Normalize(request.Limits)),
            CreatedAt = now,
            CreatedBy = caller.Credential.Id,
            ExpiresAt = expiresAt,
        };

        var stored = await services.Store.CreateAsync(credential, Audit(services, caller, "credential.create", credential.Id, new
        {
            kind = CredentialKindNames.Of(kind),
            hint = credential.Hint,
            name = credential.Name,
            owner = credential.Owner,
            external = credential.External,
            models = credential.Scope.Models,
            routes = credential.Scope.Routes,
            limits = credential.Scope.Limits,
            expires_at = credential.ExpiresAt,
        }));
        if (stored is null)
        {
            return ApiError.Conflict("This external key is already registered.");
        }

        services.Metrics.Issued(stored.Kind, "admin");
        var view = CredentialView.From(stored, now) with { Secret = stored.External ? null : secret };
        return TypedResults.Created($"/admin/credentials/{stored.Id}", view);
    }

    public static async Task<Results<Ok<ListPage<CredentialView>>, ApiError>> ListCredentials(
        [AsParameters] AdminApiServices services, HttpContext http)
    {
        var query = http.Request.Query;
        if (Paging(query, out var limit) is { } pagingError)
        {
            return pagingError;
        }

        CredentialKind? kind = null;
        if (query["kind"].LastOrDefault() is { } kindText)
        {
            if (!CredentialKindNames.TryParse(kindText, out var parsed))
            {
                return ApiError.InvalidRequest($"kind must be one of api_key, agent_token, device_token, admin_key (got \"{kindText}\").");
            }

            kind = parsed;
        }

        CredentialStatus? status = CredentialStatus.Active;
        switch (query["status"].LastOrDefault())
        {
            case null or "active": break;
            case "revoked": status = CredentialStatus.Revoked; break;
            case "expired": status = CredentialStatus.Expired; break;
            case "all": status = null; break;
            case var other: return ApiError.InvalidRequest($"status must be one of active, revoked, expired, all (got \"{other}\").");
        }

        var filter = new CredentialFilter(kind, Text(query, "owner_type"), Text(query, "owner_id"), Text(query, "parent_id"), Text(query, "device_id"), status);
        var (items, hasMore) = await services.Store.ListAsync(filter, limit, Text(query, "after_id"), http.RequestAborted);
        var now = services.Time.GetUtcNow();
        var views = items.Select(c => CredentialView.From(c, now)).ToList();
        return TypedResults.Ok(new ListPage<CredentialView>(views, hasMore, views.FirstOrDefault()?.Id, views.LastOrDefault()?.Id));
    }

    public static async Task<Results<Ok<CredentialView>, ApiError>> GetCredential(
        string id, [AsParameters] AdminApiServices services, HttpContext http)
    {
        var credential = await services.Store.FindByIdAsync(id, http.RequestAborted);
        return credential is null ? NotFound(id) : TypedResults.Ok(CredentialView.From(credential, services.Time.GetUtcNow()));
    }

    public static async Task<Results<Ok<CredentialLimitsView>, ApiError>> GetLimits(
        string id, [AsParameters] AdminApiServices services, HttpContext http)
    {
        var c = await services.Store.FindByIdAsync(id, http.RequestAborted);
        return c is null
            ? NotFound(id)
            : TypedResults.Ok(new CredentialLimitsView(
                c.Id, CredentialView.StatusName(c.StatusAt(services.Time.GetUtcNow())), c.Scope.Models, c.Scope.Routes, c.Scope.Limits, c.ExpiresAt, c.ParentId));
    }

    public static async Task<Results<Ok<UpdateView>, ApiError>> UpdateCredential(
        string id, JsonBody<UpdateCredentialRequest> body, [AsParameters] AdminApiServices services, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (id == BootstrapAdminKey.CredentialId)
        {
            return ApiError.Permission("The bootstrap admin key is managed by configuration (Admin:BootstrapKey).");
        }

        var current = await services.Store.FindByIdAsync(id, http.RequestAborted);
        if (current is null)
        {
            return NotFound(id);
        }

        var now = Timestamps.NowWholeSeconds(services.Time);
        if (current.StatusAt(now) != CredentialStatus.Active)
        {
            return ApiError.Conflict($"Only active credentials can be changed; {id} is {CredentialView.StatusName(current.StatusAt(now))}.");
        }

        var invalid = (request.NameSpecified ? InputRules.Label(request.Name, "name", 200) : null)
            ?? ScopeRules.ValidateModels(request.Models)
            ?? ScopeRules.ValidateRoutes(request.Routes)
            ?? ScopeRules.ValidateLimits(request.Limits);
        if (invalid is not null)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var expiresAt = current.ExpiresAt;
        if (request.ExpiresAtSpecified)
        {
            var expiry = Expiry(request.ExpiresAt, null, current.Kind, now, nullMeansNever: true);
            if (expiry.Error is { } expiryError)
            {
                return expiryError;
            }

            expiresAt = expiry.ExpiresAt;
        }

        var updated = current with
        {
            Name = request.NameSpecified ? request.Name : current.Name,
            Scope = new CredentialScope(
                request.Models ?? current.Scope.Models,
                request.Routes ?? current.Scope.Routes,
                request.Limits is null ? current.Scope.Limits : ScopeRules.Normalize(request.Limits)),
            ExpiresAt = expiresAt,
        };

        if (current.ParentId is { } parentId && await services.Store.FindByIdAsync(parentId, http.RequestAborted) is { } parent)
        {
            if (ScopeRules.WhyNotWithin(updated.Scope, parent.Scope) is { } wider)
            {
                return ApiError.Permission($"{id} was minted from {parentId} and must stay within it: {wider}.");
            }

            if (parent.ExpiresAt is { } parentExpiry && (updated.ExpiresAt is null || updated.ExpiresAt > parentExpiry))
            {
                return ApiError.Permission($"{id} was minted from {parentId} and cannot outlive it (it expires at {UtcTimestampConverter.Format(parentExpiry)}).");
            }
        }

        var caller = AdminCaller.Of(http);
        var outcome = await services.Store.UpdateAsync(updated, Audit(services, caller, "credential.update", id, new
        {
            name = request.NameSpecified ? request.Name : null,
            models = request.Models,
            routes = request.Routes,
            limits = request.Limits,
            expires_at = request.ExpiresAtSpecified ? (object?)request.ExpiresAt ?? "never" : null,
        }));
        services.Metrics.Revoked(outcome.RevokedDescendants);
        return outcome.Result switch
        {
            UpdateResult.Updated => TypedResults.Ok(new UpdateView(CredentialView.From(outcome.Credential!, now), outcome.RevokedDescendants)),
            UpdateResult.NotFound => NotFound(id),
            UpdateResult.Conflict => ApiError.Conflict($"{id} was changed by someone else meanwhile; read it again and retry."),
            UpdateResult.Inactive => ApiError.Conflict($"{id} was revoked or expired meanwhile."),
            _ => ApiError.Permission($"{id} must stay within the credential it was minted from, which changed meanwhile."),
        };
    }

    public static async Task<Results<Ok<RevocationView>, ApiError>> RevokeCredential(
        string id, JsonBody<RevokeRequest> body, [AsParameters] AdminApiServices services, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (InputRules.Label(request.Reason, "reason", 500) is { } invalid)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        if (id == BootstrapAdminKey.CredentialId)
        {
            return ApiError.Permission("The bootstrap admin key is managed by configuration: change or remove Admin:BootstrapKey instead.");
        }

        var caller = AdminCaller.Of(http);
        var outcome = await services.Store.RevokeAsync(id, request.Reason, Audit(services, caller, "credential.revoke", id, new { reason = request.Reason }));
        if (outcome.RevokedNow)
        {
            services.Metrics.Revoked(1 + outcome.RevokedDescendants);
        }

        return outcome.Credential is null
            ? NotFound(id)
            : TypedResults.Ok(new RevocationView(CredentialView.From(outcome.Credential, services.Time.GetUtcNow()), outcome.RevokedDescendants, RevocationPropagation.Of(outcome)));
    }

    public static async Task<Results<Ok<ListPage<DeviceView>>, ApiError>> ListDevices(
        [AsParameters] AdminApiServices services, HttpContext http)
    {
        if (Paging(http.Request.Query, out var limit) is { } pagingError)
        {
            return pagingError;
        }

        var (items, hasMore) = await services.Store.ListDevicesAsync(limit, Text(http.Request.Query, "after_id"), http.RequestAborted);
        return TypedResults.Ok(new ListPage<DeviceView>(items, hasMore, items.FirstOrDefault()?.DeviceId, items.LastOrDefault()?.DeviceId));
    }

    public static async Task<Results<Ok<ListPage<AuditEntryView>>, ApiError>> ListAudit(
        [AsParameters] AdminApiServices services, HttpContext http)
    {
        var query = http.Request.Query;
        if (Paging(query, out var limit) is { } pagingError)
        {
            return pagingError;
        }

        long? afterId = null;
        if (Text(query, "after_id") is { } afterText)
        {
            if (!long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return ApiError.InvalidRequest($"after_id must be an audit entry id (a number), got \"{afterText}\".");
            }

            afterId = parsed;
        }

        // A time window: from inclusive, to exclusive, RFC 3339 with an offset (e.g. 2026-12-05T00:00:00Z).
        DateTimeOffset? from = null, to = null;
        foreach (var (name, set) in new (string, Action<DateTimeOffset>)[] { ("from", v => from = v), ("to", v => to = v) })
        {
            if (Text(query, name) is { } text)
            {
                if (!UtcTimestampConverter.TryParse(text, out var at))
                {
                    return ApiError.InvalidRequest($"{name} must be a timestamp with its offset, such as 2026-12-05T00:00:00Z (got \"{text}\").");
                }

                set(at);
            }
        }

        if (from is not null && to is not null && from >= to)
        {
            return ApiError.InvalidRequest("from must be earlier than to.");
        }

        var filter = new AuditFilter(Text(query, "action"), Text(query, "target"), Text(query, "actor_id"), from, to);
        var (items, hasMore) = await services.Store.ListAuditAsync(filter, limit, afterId, http.RequestAborted);
        return TypedResults.Ok(new ListPage<AuditEntryView>(
            items, hasMore, items.FirstOrDefault()?.Id.ToString(CultureInfo.InvariantCulture), items.LastOrDefault()?.Id.ToString(CultureInfo.InvariantCulture)));
    }

    public static async Task<Results<Ok<ReprojectionView>, ApiError>> Reproject(
        [AsParameters] AdminApiServices services, CredentialReprojection reprojection, HttpContext http)
    {
        var caller = AdminCaller.Of(http);
        var result = await reprojection.RunAsync($"requested by admin {caller.Credential.Id}", CancellationToken.None);
        if (result is null)
        {
            return ApiError.Conflict("Another instance is re-projecting right now; try again in a moment.");
        }

        await services.Store.AppendAuditAsync(Audit(services, caller, "projection.reproject", null, new { projected = result.Projected, removed = result.Removed }));
        return TypedResults.Ok(new ReprojectionView(result.Projected, result.Removed, (long)result.Duration.TotalMilliseconds));
    }

    /// <summary>
    /// The expiry a request asks for (<c>expires_at</c> or <c>ttl</c>, not both). Agent tokens must expire within 24h and
    /// device tokens must expire; <paramref name="nullMeansNever"/> lets a PATCH remove an API or admin key's expiry.
    /// </summary>
    private static (DateTimeOffset? ExpiresAt, ApiError? Error) Expiry(DateTimeOffset? expiresAt, string? ttl, CredentialKind kind, DateTimeOffset now, bool nullMeansNever = false)
    {
        if (expiresAt is not null && ttl is not null)
        {
            return (null, ApiError.InvalidRequest("Give either expires_at or ttl, not both."));
        }

        if (ttl is not null)
        {
            if (!GoDuration.TryParse(ttl, out var duration, out var error))
            {
                return (null, ApiError.InvalidRequest($"ttl {error}."));
            }

            if (duration < TokenOptions.MinTtl)
            {
                return (null, ApiError.InvalidRequest($"ttl must be at least 1s (got \"{ttl}\")."));
            }

            expiresAt = now + duration;
        }

        expiresAt = expiresAt is { } given ? Timestamps.FloorMicroseconds(given) : null;
        if (expiresAt is { } value && value <= now)
        {
            return (null, ApiError.InvalidRequest($"expires_at must be in the future (got {UtcTimestampConverter.Format(value)})."));
        }

        switch (kind)
        {
            case CredentialKind.AgentToken when expiresAt is null:
                return (null, ApiError.InvalidRequest(nullMeansNever
                    ? "Agent tokens must expire; expires_at cannot be removed."
                    : "Agent tokens must expire: give ttl (at most 24h) or expires_at."));
            case CredentialKind.AgentToken when expiresAt > now + TokenOptions.MaxTtl:
                return (null, ApiError.InvalidRequest($"Agent tokens live at most 24h{(ttl is null ? "" : $" (got ttl \"{ttl}\")")}; use an API key for longer-lived access."));
            case CredentialKind.DeviceToken when expiresAt is null:
                return (null, ApiError.InvalidRequest("Device tokens must expire; expires_at cannot be removed."));
        }

        return (expiresAt, null);
    }

    private static ApiError? Paging(IQueryCollection query, out int limit)
    {
        limit = 100;
        if (Text(query, "limit") is not { } text)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 1000
            ? null
            : ApiError.InvalidRequest($"limit must be a number from 1 to 1000 (got \"{text}\").");
    }

    private static string? Text(IQueryCollection query, string name) => query[name].LastOrDefault() is { Length: > 0 } value ? value : null;

    private static ApiError NotFound(string id) => ApiError.NotFound($"No credential {id}.");

    private static AuditRecord Audit(AdminApiServices services, AdminCaller caller, string action, string? target, object details) =>
        new(Timestamps.NowMicroseconds(services.Time), caller.Credential.Id, caller.Credential.Hint, action, target, caller.Address, details);
}

public sealed record AdminApiServices(
    CredentialStore Store,
    IOptions<ExternalKeyOptions> ExternalKeys,
    TokenServiceMetrics Metrics,
    TimeProvider Time);
