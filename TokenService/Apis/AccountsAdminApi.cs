using System.Globalization;
using System.Security.Cryptography;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>The admin API's routes for local accounts, invites and the JWT signing keys (an admin key is required; every change is audited).</summary>
/// <remarks>
/// <code>
/// GET   /admin/users                  accounts, oldest first: ?limit=1..1000 &amp;after_id=
/// GET   /admin/users/{id}             one account
/// PATCH /admin/users/{id}             {role?, disabled?, limits?}: limits bound all of the account's keys together;
///                                     disabling revokes every credential the account owns
/// POST  /admin/invites                {email?, role?, ttl?} → 201 {id, code (shown once), email, role, expires_at}
/// GET   /admin/signing-keys           kids with their state
/// POST  /admin/signing-keys/rotate    sign with a new key from now on; the old one stays published until its tokens expired
/// </code>
/// </remarks>
public static class AccountsAdminApi
{
    public static IEndpointRouteBuilder MapAccountsAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").RequireAuthorization(AdminAuthorization.Policy);
        admin.MapGet("/users", ListUsers);
        admin.MapGet("/users/{id}", GetUser);
        admin.MapPatch("/users/{id}", UpdateUser);
        admin.MapPost("/invites", CreateInvite);
        admin.MapGet("/signing-keys", ListSigningKeys);
        admin.MapPost("/signing-keys/rotate", RotateSigningKey);
        return app;
    }

    public static async Task<Results<Ok<ListPage<UserView>>, ApiError>> ListUsers(CredentialStore store, TimeProvider time, HttpContext http)
    {
        var limit = 100;
        if (http.Request.Query["limit"].LastOrDefault() is { } text
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 1000))
        {
            return ApiError.InvalidRequest($"limit must be a number from 1 to 1000 (got \"{text}\").");
        }

        var (items, hasMore) = await store.ListUsersAsync(limit, http.Request.Query["after_id"].LastOrDefault(), http.RequestAborted);
        var now = time.GetUtcNow();
        var views = items.Select(u => UserView.From(u, now)).ToList();
        return TypedResults.Ok(new ListPage<UserView>(views, hasMore, views.FirstOrDefault()?.Id, views.LastOrDefault()?.Id));
    }

    public static async Task<Results<Ok<UserView>, ApiError>> GetUser(string id, CredentialStore store, TimeProvider time, HttpContext http) =>
        await store.FindUserByIdAsync(id, http.RequestAborted) is { } user
            ? TypedResults.Ok(UserView.From(user, time.GetUtcNow()))
            : ApiError.NotFound($"No account {id}.");

    public static async Task<Results<Ok<UserUpdateView>, ApiError>> UpdateUser(
        string id, JsonBody<UpdateUserRequest> body, CredentialStore store, TimeProvider time, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if ((AccountRules.Role(request.Role) ?? ScopeRules.ValidateLimits(request.Limits)) is { } invalid)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var caller = AdminCaller.Of(http);
        var outcome = await store.UpdateUserAsync(id, request.Role, request.Disabled, request.Limits, Audit(time, caller, "account.update", id, new
        {
            role = request.Role,
            disabled = request.Disabled,
            limits = request.Limits,
        }));
        return outcome.User is null
            ? ApiError.NotFound($"No account {id}.")
            : TypedResults.Ok(new UserUpdateView(UserView.From(outcome.User, time.GetUtcNow()), outcome.RevokedCredentials));
    }

    public static async Task<Results<Created<InviteView>, ApiError>> CreateInvite(
        JsonBody<CreateInviteRequest> body, CredentialStore store, IOptions<AccountOptions> options, TimeProvider time, HttpContext http)
    {
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        if ((AccountRules.Role(request.Role) ?? (request.Email is null ? null : AccountRules.Email(request.Email))) is { } invalid)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var ttl = options.Value.InviteTtlValue;
        if (request.Ttl is { } ttlText && (!GoDuration.TryParse(ttlText, out ttl, out _) || ttl < TimeSpan.FromMinutes(1)))
        {
            return ApiError.InvalidRequest($"ttl must be a duration of at least 1m, such as \"72h\" (got \"{ttlText}\").");
        }

        var code = "inv_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        var id = "invite_" + Guid.CreateVersion7().ToString("N");
        var email = request.Email is null ? null : AccountRules.NormalizeEmail(request.Email);
        var role = request.Role ?? UserRoles.Member;
        var expiresAt = Timestamps.NowWholeSeconds(time) + ttl;
        await store.CreateInviteAsync(id, CredentialFormat.Hash(code), email, role, expiresAt,
            Audit(time, AdminCaller.Of(http), "invite.create", id, new { email, role, expires_at = expiresAt }));
        return TypedResults.Created($"/admin/invites/{id}", new InviteView(id, code, email, role, expiresAt));
    }

    public static async Task<Ok<ListPage<SigningKeyView>>> ListSigningKeys(SigningKeyStore keys, TimeProvider time, HttpContext http)
    {
        var now = time.GetUtcNow();
        var views = (await keys.ListAsync(http.RequestAborted)).Select(k =>
        {
            DateTimeOffset? until = k.RetiredAt is { } retired ? keys.PublishedUntil(retired) : null;
            var status = k.RetiredAt is null ? "signing" : until > now ? "published" : "expired";
            return new SigningKeyView(k.Kid, k.Algorithm, status, k.CreatedAt, k.RetiredAt, until);
        }).ToList();
        return TypedResults.Ok(new ListPage<SigningKeyView>(views, false, views.FirstOrDefault()?.Kid, views.LastOrDefault()?.Kid));
    }

    public static async Task<Ok<SigningKeyView>> RotateSigningKey(SigningKeyStore keys, CredentialStore store, TimeProvider time, HttpContext http)
    {
        var key = await keys.RotateAsync(CancellationToken.None);
        await store.AppendAuditAsync(Audit(time, AdminCaller.Of(http), "signing_key.rotate", key.Kid, new { kid = key.Kid }));
        return TypedResults.Ok(new SigningKeyView(key.Kid, SigningKey.Algorithm, "signing", key.CreatedAt, null, null));
    }

    private static AuditRecord Audit(TimeProvider time, AdminCaller caller, string action, string? target, object details) =>
        new(Timestamps.NowMicroseconds(time), caller.Credential.Id, caller.Credential.Hint, action, target, caller.Address, details);
}
