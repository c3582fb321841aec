using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using LlmGateway.Contracts.Credentials;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace LlmGateway.AdminUi.Pages;

public sealed class KeysModel(TokenServiceClient tokenService) : AdminPageModel
{
    public const int PageSize = 50;

    public static readonly (string Value, string Label)[] Kinds =
    [
        (CredentialKindNames.Of(CredentialKind.ApiKey), "API keys"),
        (CredentialKindNames.Of(CredentialKind.AgentToken), "Agent tokens"),
        (CredentialKindNames.Of(CredentialKind.DeviceToken), "Device tokens"),
        (CredentialKindNames.Of(CredentialKind.AdminKey), "Admin keys"),
    ];

    public static readonly (string Value, string Label)[] Statuses =
    [
        ("active", "Active"),
        ("revoked", "Revoked"),
        ("expired", "Expired"),
        ("all", "Any status"),
    ];

    /// <summary>The owner types TokenService knows (the API checks them; the list only helps choosing).</summary>
    public static readonly string[] OwnerTypes = ["organization", "user", "device", "agent"];

    [BindProperty(SupportsGet = true, Name = "kind")] public string? Kind { get; set; }
    [BindProperty(SupportsGet = true, Name = "status")] public string? Status { get; set; }
    [BindProperty(SupportsGet = true, Name = "owner_type")] public string? OwnerType { get; set; }
    [BindProperty(SupportsGet = true, Name = "owner_id")] public string? OwnerId { get; set; }
    [BindProperty(SupportsGet = true, Name = "parent_id")] public string? ParentId { get; set; }
    [BindProperty(SupportsGet = true, Name = "device_id")] public string? DeviceId { get; set; }
    [BindProperty(SupportsGet = true, Name = "after")] public string? After { get; set; }

    public ListPage<CredentialView>? Listing { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Kind = Clean(Kind);
        Status = Clean(Status);
        OwnerType = Clean(OwnerType);
        OwnerId = Clean(OwnerId);
        ParentId = Clean(ParentId);
        DeviceId = Clean(DeviceId);
        Listing = ValueOrProblem(await tokenService.ListCredentialsAsync(
            new CredentialQuery(Kind, Status, OwnerType, OwnerId, ParentId, DeviceId, PageSize, Clean(After)), ct));
    }

    public string PageLink(string? after) => QueryHelpers.AddQueryString("/keys", new Dictionary<string, string?>
    {
        ["kind"] = Kind,
        ["status"] = Status,
        ["owner_type"] = OwnerType,
        ["owner_id"] = OwnerId,
        ["parent_id"] = ParentId,
        ["device_id"] = DeviceId,
        ["after"] = after,
    }.Where(p => p.Value is not null));
}
