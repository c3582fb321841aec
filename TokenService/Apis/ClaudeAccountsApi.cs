using System.Text.Json.Serialization;
using LlmGateway.Contracts;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.UpstreamOAuth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// Upstream OAuth accounts (Claude Pro/Max style). Admin only (admin key or admin-role JWT); every change is audited.
/// <code>
/// GET    /api/claude/connect?account_id=&amp;label=   → {authorization_url, state, account_id}; PKCE S256, state expires
/// POST   /api/claude/callback  {code, state}       code may be pasted as code#state; → {account_id, status, expires_at}
/// GET    /api/claude/status                        → {connected, accounts:[{id, label, status, expires_at, last_refresh_at, last_error, …}]}
/// DELETE /api/claude/disconnect?account_id=        forgets the tokens (account_id optional when there is one account)
/// PUT    /admin/upstream-accounts/{id}/assignments {organization_id} or {credential_id}: that account serves them
/// DELETE /admin/upstream-accounts/assignments?organization_id=|credential_id=
/// POST   /internal/upstream-accounts/{id}/token    {rejected_token?} → {access_token, expires_at} (internal key only);
///                                                  409 {error:{type:"upstream_account_error", message}} when it needs reconnecting
/// </code>
/// </summary>
public static class ClaudeAccountsApi
{
    public static IEndpointRouteBuilder MapClaudeAccountsApi(this IEndpointRouteBuilder app)
    {
        var claude = app.MapGroup("/api/claude").RequireAuthorization(AdminAuthorization.Policy);
        claude.MapGet("/connect", Connect);
        claude.MapPost("/callback", Callback);
        claude.MapGet("/status", Status);
        claude.MapDelete("/disconnect", Disconnect);

        var admin = app.MapGroup("/admin/upstream-accounts").RequireAuthorization(AdminAuthorization.Policy);
        admin.MapPut("/{id}/assignments", Assign);
        admin.MapDelete("/assignments", Unassign);

        var configured = app.ServiceProvider.GetRequiredService<IConfiguration>()[InternalApi.ConfigurationKey];
        app.MapGroup("/internal/upstream-accounts").AddEndpointFilter(async (context, next) =>
                InternalApi.IsValid(configured, context.HttpContext.Request.Headers[InternalApi.HeaderName])
                    ? await next(context)
                    : ApiError.ForStatus(StatusCodes.Status404NotFound, context.HttpContext.Request))
            .MapPost("/{id}/token", AccessToken);
        return app;
    }

    public static async Task<Results<Ok<ConnectView>, ApiError>> Connect(
        UpstreamAccountStore store, IOptions<UpstreamOAuthOptions> options, CredentialStore audit, TimeProvider time, HttpContext http)
    {
        var o = options.Value;
        if (!o.IsConfigured)
        {
            return ApiError.Unavailable("Upstream OAuth is not configured (UpstreamOAuth:ClientId and UpstreamOAuth:Authority or AuthorizeUrl/TokenUrl).", TimeSpan.FromMinutes(5));
        }

        var accountId = http.Request.Query["account_id"].LastOrDefault() is { Length: > 0 } given ? given : "uacct_" + Guid.CreateVersion7().ToString("N");
        if (accountId.Length > 64 || !accountId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return ApiError.InvalidRequest("account_id may hold up to 64 letters, digits, '_' and '-'.");
        }

        var verifier = Pkce.NewVerifier();
        var state = Pkce.NewState();
        await store.StartConnectAsync(accountId, http.Request.Query["label"].LastOrDefault(), state, verifier, http.RequestAborted);
        var query = new Dictionary<string, string?>
        {
            ["code"] = "true",
            ["client_id"] = o.ClientId,
            ["response_type"] = "code",
            ["redirect_uri"] = o.RedirectUri,
            ["scope"] = o.Scopes,
            ["code_challenge"] = Pkce.Challenge(verifier),
            ["code_challenge_method"] = "S256",
            ["state"] = state,
        };
        var url = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(o.ResolvedAuthorizeUrl!, query.Where(q => q.Value is not null)!);
        await audit.AppendAuditAsync(Audit(time, http, "upstream_account.connect_started", accountId, new { account_id = accountId }));
        return TypedResults.Ok(new ConnectView(url, state, accountId));
    }

    public static async Task<Results<Ok<CallbackView>, ApiError>> Callback(
        JsonBody<CallbackRequest> body, UpstreamAccountStore store, UpstreamTokenClient tokens, CredentialStore audit, TimeProvider time, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (!Pkce.TryReadCallback(request.Code, request.State, out var code, out var state, out var invalid))
        {
            return ApiError.InvalidRequest(invalid!);
        }

        if (await store.TakePendingAsync(state, http.RequestAborted) is not { } pending)
        {
            return ApiError.InvalidRequest("Unknown or expired state; start again with GET /api/claude/connect.");
        }

        var result = await tokens.RedeemCodeAsync(code, pending.Verifier, state, http.RequestAborted);
        if (result.Tokens is not { } issued)
        {
            return ApiError.InvalidRequest($"The provider refused the authorization code ({result.Error}); start again with GET /api/claude/connect.");
        }

        await store.SaveConnectedAsync(pending.AccountId, pending.Label, issued, CancellationToken.None);
        await audit.AppendAuditAsync(Audit(time, http, "upstream_account.connect", pending.AccountId, new { account_id = pending.AccountId, expires_at = issued.ExpiresAt }));
        return TypedResults.Ok(new CallbackView(pending.AccountId, "connected", issued.ExpiresAt));
    }

    public static async Task<Ok<StatusView>> Status(UpstreamAccountStore store, HttpContext http)
    {
        var accounts = await store.ListAsync(http.RequestAborted);
        return TypedResults.Ok(new StatusView(accounts.Any(a => a.Connected), accounts));
    }

    public static async Task<Results<Ok<CallbackView>, ApiError>> Disconnect(
        UpstreamAccountStore store, CredentialStore audit, StackExchange.Redis.IConnectionMultiplexer redis, TimeProvider time, HttpContext http)
    {
        var id = http.Request.Query["account_id"].LastOrDefault();
        if (string.IsNullOrEmpty(id))
        {
            var accounts = (await store.ListAsync(http.RequestAborted)).Where(a => a.Status != "disconnected").ToList();
            if (accounts.Count != 1)
            {
                return ApiError.InvalidRequest($"account_id is required ({accounts.Count} accounts are connected).");
            }

            id = accounts[0].Id;
        }

        if (!await store.DisconnectAsync(id, CancellationToken.None))
        {
            return ApiError.NotFound($"No connected upstream account {id}.");
        }

        await audit.AppendAuditAsync(Audit(time, http, "upstream_account.disconnect", id, new { account_id = id }));
        try
        {
            await redis.GetSubscriber().PublishAsync(StackExchange.Redis.RedisChannel.Literal(RedisKeys.UpstreamAccountEvents), id);
        }
        catch (StackExchange.Redis.RedisException)
        {
            // Gateways stop using the old token when it is next due (the disconnect itself is stored).
        }
        return TypedResults.Ok(new CallbackView(id, "disconnected", null));
    }

    public static async Task<Results<Ok<AssignmentView>, ApiError>> Assign(
        string id, JsonBody<AssignmentRequest> body, UpstreamAccountStore store, CredentialStore credentials, CredentialProjector projector,
        CredentialReprojection reprojection, TimeProvider time, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if (!await store.ExistsAsync(id, http.RequestAborted))
        {
            return ApiError.NotFound($"No upstream account {id}.");
        }

        return await ChangeAssignmentAsync(request, id, store, credentials, projector, reprojection, time, http);
    }

    public static async Task<Results<Ok<AssignmentView>, ApiError>> Unassign(
        UpstreamAccountStore store, CredentialStore credentials, CredentialProjector projector, CredentialReprojection reprojection, TimeProvider time, HttpContext http)
    {
        var request = new AssignmentRequest
        {
            OrganizationId = http.Request.Query["organization_id"].LastOrDefault(),
            CredentialId = http.Request.Query["credential_id"].LastOrDefault(),
        };
        return await ChangeAssignmentAsync(request, null, store, credentials, projector, reprojection, time, http);
    }

    public static async Task<Results<Ok<AccessTokenView>, ApiError>> AccessToken(
        string id, JsonBody<AccessTokenRequest> body, UpstreamAccountStore store, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var result = await store.GetAccessTokenAsync(id, request.RejectedToken, http.RequestAborted);
        return result.AccessToken is { } token
            ? TypedResults.Ok(new AccessTokenView(token, result.ExpiresAt!.Value))
            : ApiError.UpstreamAccount($"The upstream account {id} needs to be reconnected by an administrator ({result.Problem}).", result.NeedsReconnect);
    }

    private static async Task<Results<Ok<AssignmentView>, ApiError>> ChangeAssignmentAsync(
        AssignmentRequest request, string? accountId, UpstreamAccountStore store, CredentialStore credentials, CredentialProjector projector,
        CredentialReprojection reprojection, TimeProvider time, HttpContext http)
    {
        var (type, target) = (request.OrganizationId, request.CredentialId) switch
        {
            ({ Length: > 0 } org, null) => ("organization", org),
            (null, { Length: > 0 } cred) => ("credential", cred),
            _ => (null, null),
        };
        if (type is null || target is null)
        {
            return ApiError.InvalidRequest("Give exactly one of organization_id or credential_id.");
        }

        Credential? credential = null;
        if (type == "credential" && (credential = await credentials.FindByIdAsync(target, http.RequestAborted)) is null)
        {
            return ApiError.NotFound($"No credential {target}.");
        }

        await store.AssignAsync(type, target, accountId, CancellationToken.None);
        await credentials.AppendAuditAsync(Audit(time, http, accountId is null ? "upstream_account.unassign" : "upstream_account.assign", target,
            new { account_id = accountId, target_type = type, target_id = target }));
        // The projection carries the assignment: re-project what changed (one key, or everything for an organization).
        if (credential is not null && await credentials.FindByIdAsync(target, CancellationToken.None) is { } fresh)
        {
            await projector.ProjectChangeAsync(fresh);
        }
        else
        {
            await reprojection.RunAsync("upstream account assignment", CancellationToken.None);
        }

        return TypedResults.Ok(new AssignmentView(accountId, type, target));
    }

    private static AuditRecord Audit(TimeProvider time, HttpContext http, string action, string? target, object details)
    {
        var caller = AdminCaller.Of(http);
        return new(Timestamps.NowMicroseconds(time), caller.Credential.Id, caller.Credential.Hint, action, target, caller.Address, details);
    }
}

public sealed record ConnectView(string AuthorizationUrl, string State, string AccountId);

public sealed record CallbackView(string AccountId, string Status, DateTimeOffset? ExpiresAt);

public sealed record StatusView(bool Connected, IReadOnlyList<UpstreamAccountView> Accounts);

public sealed record AssignmentView(string? AccountId, string TargetType, string TargetId);

public sealed record AccessTokenView(string AccessToken, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"AccessTokenView(expires {ExpiresAt:O})";
}

public sealed class CallbackRequest
{
    public string? Code { get; set; }
    public string? State { get; set; }
}

public sealed class AssignmentRequest
{
    public string? OrganizationId { get; set; }
    public string? CredentialId { get; set; }
}

public sealed class AccessTokenRequest
{
    public string? RejectedToken { get; set; }
}
