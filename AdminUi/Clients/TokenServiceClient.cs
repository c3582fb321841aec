using System.Globalization;
using System.Text.Json.Nodes;
using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Model;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// TokenService's admin API (credentials, devices, audit; see TokenService/Apis/AdminApi.cs), called on the gateway's
/// public address, which hands <c>/admin/*</c> to TokenService with the caller's key.
/// </summary>
public sealed class TokenServiceClient(HttpClient http, ILogger<TokenServiceClient> logger) : ApiClient(http, logger, "TokenService")
{
    /// <summary>Whether <paramref name="credential"/> may use the admin API: the cheapest admin-only read, made with it.</summary>
    public async Task<ApiResult<bool>> CheckAdminAccessAsync(SessionCredential credential, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/credentials?limit=1");
        request.Options.Set(ApiCredentialHandler.ExplicitCredential, credential);
        var result = await SendAsync<ListPage<CredentialView>>(request, ct);
        return result.Ok ? new ApiResult<bool>(true, null) : result.Problem;
    }

    public Task<ApiResult<ListPage<CredentialView>>> ListCredentialsAsync(CredentialQuery query, CancellationToken ct) =>
        GetAsync<ListPage<CredentialView>>(Query("/admin/credentials",
        [
            new("kind", query.Kind),
            new("status", query.Status),
            new("owner_type", query.OwnerType),
            new("owner_id", query.OwnerId),
            new("parent_id", query.ParentId),
            new("device_id", query.DeviceId),
            new("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", query.AfterId),
        ]), ct);

    public Task<ApiResult<CredentialView>> GetCredentialAsync(string id, CancellationToken ct) =>
        GetAsync<CredentialView>("/admin/credentials/" + Segment(id), ct);

    public Task<ApiResult<CredentialView>> CreateCredentialAsync(NewCredential credential, CancellationToken ct) =>
        SendJsonAsync<CredentialView>(HttpMethod.Post, "/admin/credentials", credential, ct);

    public Task<ApiResult<UpdateView>> UpdateCredentialAsync(string id, CredentialChanges changes, CancellationToken ct)
    {
        // Only what changed is sent: for the name and the expiry a present null means "clear it".
        var body = new JsonObject();
        if (changes.NameChanged)
        {
            body["name"] = changes.Name;
        }

        if (changes.Models is not null)
        {
            body["models"] = System.Text.Json.JsonSerializer.SerializeToNode(changes.Models, ApiJson.Options);
        }

        if (changes.Routes is not null)
        {
            body["routes"] = System.Text.Json.JsonSerializer.SerializeToNode(changes.Routes, ApiJson.Options);
        }

        if (changes.Limits is not null)
        {
            body["limits"] = System.Text.Json.JsonSerializer.SerializeToNode(changes.Limits, ApiJson.Options);
        }

        if (changes.ExpiryChanged)
        {
            body["expires_at"] = changes.ExpiresAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        return SendJsonAsync<UpdateView>(HttpMethod.Patch, "/admin/credentials/" + Segment(id), body, ct);
    }

    public Task<ApiResult<RevocationView>> RevokeCredentialAsync(string id, string? reason, CancellationToken ct) =>
        SendJsonAsync<RevocationView>(HttpMethod.Post, "/admin/credentials/" + Segment(id) + "/revoke",
            new JsonObject { ["reason"] = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim() }, ct);

    public Task<ApiResult<ListPage<DeviceView>>> ListDevicesAsync(int limit, string? afterId, CancellationToken ct) =>
        GetAsync<ListPage<DeviceView>>(Query("/admin/devices",
        [
            new("limit", limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", afterId),
        ]), ct);

    public Task<ApiResult<ListPage<AuditEntryView>>> ListAuditAsync(AuditQuery query, CancellationToken ct) =>
        GetAsync<ListPage<AuditEntryView>>(Query("/admin/audit",
        [
            new("action", query.Action),
            new("target", query.Target),
            new("actor_id", query.ActorId),
            new("from", Timestamp(query.From)),
            new("to", Timestamp(query.To)),
            new("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", query.AfterId),
        ]), ct);

    public Task<ApiResult<ListPage<UserView>>> ListUsersAsync(int limit, string? afterId, CancellationToken ct) =>
        GetAsync<ListPage<UserView>>(Query("/admin/users",
        [
            new("limit", limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", afterId),
        ]), ct);

    /// <summary>Changes what is given: the role, disabled (which revokes every credential the account owns), the limits.</summary>
    public Task<ApiResult<UserUpdateView>> UpdateUserAsync(string id, string? role, bool? disabled, CredentialLimits? limits, CancellationToken ct)
    {
        var body = new JsonObject();
        if (role is not null)
        {
            body["role"] = role;
        }

        if (disabled is not null)
        {
            body["disabled"] = disabled;
        }

        if (limits is not null)
        {
            body["limits"] = System.Text.Json.JsonSerializer.SerializeToNode(limits, ApiJson.Options);
        }

        return SendJsonAsync<UserUpdateView>(HttpMethod.Patch, "/admin/users/" + Segment(id), body, ct);
    }

    public Task<ApiResult<InviteView>> CreateInviteAsync(string? email, string role, CancellationToken ct) =>
        SendJsonAsync<InviteView>(HttpMethod.Post, "/admin/invites", new JsonObject { ["email"] = email, ["role"] = role }, ct);

    internal static string? Timestamp(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
