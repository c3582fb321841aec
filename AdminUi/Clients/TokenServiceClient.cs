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
        var result = await SendAsync<ListPage<Credential>>(request, ct);
        return result.Ok ? new ApiResult<bool>(true, null) : result.Problem;
    }

    public Task<ApiResult<ListPage<Credential>>> ListCredentialsAsync(CredentialQuery query, CancellationToken ct) =>
        GetAsync<ListPage<Credential>>(Query("/admin/credentials",
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

    public Task<ApiResult<Credential>> GetCredentialAsync(string id, CancellationToken ct) =>
        GetAsync<Credential>("/admin/credentials/" + Segment(id), ct);

    public Task<ApiResult<Credential>> CreateCredentialAsync(NewCredential credential, CancellationToken ct) =>
        SendJsonAsync<Credential>(HttpMethod.Post, "/admin/credentials", credential, ct);

    public Task<ApiResult<CredentialUpdate>> UpdateCredentialAsync(string id, CredentialChanges changes, CancellationToken ct)
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

        return SendJsonAsync<CredentialUpdate>(HttpMethod.Patch, "/admin/credentials/" + Segment(id), body, ct);
    }

    public Task<ApiResult<Revocation>> RevokeCredentialAsync(string id, string? reason, CancellationToken ct) =>
        SendJsonAsync<Revocation>(HttpMethod.Post, "/admin/credentials/" + Segment(id) + "/revoke",
            new JsonObject { ["reason"] = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim() }, ct);

    public Task<ApiResult<ListPage<Device>>> ListDevicesAsync(int limit, string? afterId, CancellationToken ct) =>
        GetAsync<ListPage<Device>>(Query("/admin/devices",
        [
            new("limit", limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", afterId),
        ]), ct);

    public Task<ApiResult<ListPage<AuditEntry>>> ListAuditAsync(AuditQuery query, CancellationToken ct) =>
        GetAsync<ListPage<AuditEntry>>(Query("/admin/audit",
        [
            new("action", query.Action),
            new("target", query.Target),
            new("actor_id", query.ActorId),
            new("from", Timestamp(query.From)),
            new("to", Timestamp(query.To)),
            new("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", query.AfterId),
        ]), ct);

    public Task<ApiResult<ListPage<UserAccount>>> ListUsersAsync(int limit, string? afterId, CancellationToken ct) =>
        GetAsync<ListPage<UserAccount>>(Query("/admin/users",
        [
            new("limit", limit.ToString(CultureInfo.InvariantCulture)),
            new("after_id", afterId),
        ]), ct);

    /// <summary>Changes what is given: the role, disabled (which revokes every credential the account owns), the limits.</summary>
    public Task<ApiResult<UserUpdate>> UpdateUserAsync(string id, string? role, bool? disabled, CredentialLimits? limits, CancellationToken ct)
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

        return SendJsonAsync<UserUpdate>(HttpMethod.Patch, "/admin/users/" + Segment(id), body, ct);
    }

    public Task<ApiResult<Invite>> CreateInviteAsync(string? email, string role, CancellationToken ct) =>
        SendJsonAsync<Invite>(HttpMethod.Post, "/admin/invites", new JsonObject { ["email"] = email, ["role"] = role }, ct);

    internal static string? Timestamp(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
