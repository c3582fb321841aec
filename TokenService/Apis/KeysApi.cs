using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// Self-service API keys (seed 003) for the signed-in account (its JWT from <c>/api/auth/login</c>). The keys are
/// ordinary <c>api_key</c> credentials owned by the account (owner type <c>user</c>), so the Gateway honours and revokes
/// them like any other; each carries the account in its lineage, so all of an account's keys together stay within the
/// limits an admin set for it (<c>PATCH /admin/users/{id}</c>).
/// </summary>
/// <remarks>
/// <code>
/// POST   /api/keys/generate  {name?, models?, expires_in?}  → 201 the key, with its secret (the only time it is shown)
/// GET    /api/keys/list      the account's keys: ?status=active (default)|revoked|expired|all
/// DELETE /api/keys/{id}      revoke one of the account's keys (404 for anyone else's)
/// </code>
/// Viewers may list but not create keys (they read usage; they do not call the model API).
/// </remarks>
public static class KeysApi
{
    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys");
        keys.MapPost("/generate", Generate);
        keys.MapGet("/list", List);
        keys.MapDelete("/{id}", Delete);
        keys.RequireAuthorization(UserAuthenticator.Scheme);
        return app;
    }

    public static async Task<Results<Created<CredentialView>, ApiError>> Generate(
        JsonBody<GenerateKeyRequest> body, [AsParameters] KeysApiServices services, HttpContext http)
    {
        var caller = SignedInUser.Of(http);

        var user = caller.Account;
        if (user.Role == UserRoles.Viewer)
        {
            return ApiError.Permission("Viewers cannot create API keys; ask an administrator for the member role.");
        }

        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var invalid = InputRules.Label(request.Name, "name", 200) ?? ScopeRules.ValidateModels(request.Models);
        if (invalid is not null)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var now = Timestamps.NowWholeSeconds(services.Time);
        DateTimeOffset? expiresAt = null;
        if (request.ExpiresIn is { } expiresIn)
        {
            if (!GoDuration.TryParse(expiresIn, out var lifetime, out var durationError))
            {
                return ApiError.InvalidRequest($"expires_in {durationError} (a duration such as \"720h\").");
            }

            if (lifetime < TimeSpan.FromMinutes(1))
            {
                return ApiError.InvalidRequest($"expires_in must be at least 1m (got \"{expiresIn}\").");
            }

            expiresAt = now + lifetime;
        }

        var max = services.Options.Value.MaxKeysPerUser;
        if (await services.Store.CountActiveOwnedAsync(user.Id, CredentialKind.ApiKey, http.RequestAborted) >= max)
        {
            return ApiError.Conflict($"You already have {max} active keys (the most one account may have); delete one first.");
        }

        var secret = CredentialFormat.Generate(CredentialKind.ApiKey);
        var credential = new Credential
        {
            Id = Credential.NewId(),
            Hash = CredentialFormat.Hash(secret),
            Kind = CredentialKind.ApiKey,
            Hint = CredentialFormat.Redact(secret),
            Name = request.Name,
            Owner = user.ToOwner(),
            Scope = new CredentialScope(request.Models ?? CredentialScope.Everything, CredentialScope.Everything, new CredentialLimits()),
            CreatedAt = now,
            CreatedBy = user.Id,
            ExpiresAt = expiresAt,
        };
        var stored = await services.Store.CreateAsync(credential, Audit(services, caller, "credential.create", credential.Id, new
        {
            kind = CredentialKindNames.Of(CredentialKind.ApiKey),
            hint = credential.Hint,
            name = credential.Name,
            owner = credential.Owner,
            models = credential.Scope.Models,
            expires_at = credential.ExpiresAt,
            self_service = true,
        }));
        if (stored is null)
        {
            return ApiError.Conflict("A key with this value already exists; try again.");
        }

        services.Metrics.Issued(CredentialKind.ApiKey, "self_service");
        return TypedResults.Created($"/api/keys/{stored.Id}", CredentialView.From(stored, now) with { Secret = secret });
    }

    public static async Task<Results<Ok<ListPage<CredentialView>>, ApiError>> List([AsParameters] KeysApiServices services, HttpContext http)
    {
        var caller = SignedInUser.Of(http);

        CredentialStatus? status = CredentialStatus.Active;
        switch (http.Request.Query["status"].LastOrDefault())
        {
            case null or "active": break;
            case "revoked": status = CredentialStatus.Revoked; break;
            case "expired": status = CredentialStatus.Expired; break;
            case "all": status = null; break;
            case var other: return ApiError.InvalidRequest($"status must be one of active, revoked, expired, all (got \"{other}\").");
        }

        var filter = new CredentialFilter(CredentialKind.ApiKey, "user", caller.Account.Id, null, null, status);
        var (items, hasMore) = await services.Store.ListAsync(filter, 1000, http.Request.Query["after_id"].LastOrDefault(), http.RequestAborted);
        var now = services.Time.GetUtcNow();
        var views = items.Select(c => CredentialView.From(c, now)).ToList();
        return TypedResults.Ok(new ListPage<CredentialView>(views, hasMore, views.FirstOrDefault()?.Id, views.LastOrDefault()?.Id));
    }

    public static async Task<Results<Ok<RevocationView>, ApiError>> Delete(string id, [AsParameters] KeysApiServices services, HttpContext http)
    {
        var caller = SignedInUser.Of(http);

        // Someone else's key and no key read the same: an id is no proof that it exists.
        var credential = await services.Store.FindByIdAsync(id, http.RequestAborted);
        if (credential is null || credential.Owner.Type != "user" || credential.Owner.Id != caller.Account.Id)
        {
            return ApiError.NotFound($"You have no key {id}.");
        }

        var outcome = await services.Store.RevokeAsync(id, "deleted by its owner", Audit(services, caller, "credential.revoke", id, new
        {
            reason = "deleted by its owner",
            hint = credential.Hint,
            self_service = true,
        }));
        if (outcome.RevokedNow)
        {
            services.Metrics.Revoked(1 + outcome.RevokedDescendants);
        }

        return outcome.Credential is null
            ? ApiError.NotFound($"You have no key {id}.")
            : TypedResults.Ok(new RevocationView(CredentialView.From(outcome.Credential, services.Time.GetUtcNow()), outcome.RevokedDescendants, RevocationPropagation.Of(outcome)));
    }

    private static AuditRecord Audit(KeysApiServices services, SignedInUser caller, string action, string target, object details) =>
        new(Timestamps.NowMicroseconds(services.Time), caller.Account.Id, caller.Account.Email, action, target, caller.Address, details);
}

public sealed record KeysApiServices(
    CredentialStore Store,
    IOptions<AccountOptions> Options,
    TokenServiceMetrics Metrics,
    TimeProvider Time);
