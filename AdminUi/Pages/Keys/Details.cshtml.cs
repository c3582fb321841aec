using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Keys;

public sealed class KeyDetailsModel(TokenServiceClient tokenService, GatewayClient gateway, UsageClient usage, TimeProvider time) : AdminPageModel
{
    /// <summary>How far up the "minted from" chain the page follows.</summary>
    private const int MaxAncestors = 10;

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public CredentialView? Credential { get; private set; }

    /// <summary>The secret of a key created just before this page: shown on this one visit only.</summary>
    public string? NewSecret { get; private set; }

    public CredentialLimitsReport? Limits { get; private set; }
    public ApiProblem? LimitsProblem { get; private set; }

    public StatsReport? Usage { get; private set; }
    public ApiProblem? UsageProblem { get; private set; }

    /// <summary>The credentials this one was minted from, parent first.</summary>
    public List<CredentialView> Ancestors { get; } = [];
    public ApiProblem? LineageProblem { get; private set; }

    public ListPage<CredentialView>? Minted { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        NewSecret = TempData[NewKeyModel.SecretSlot] as string;
        var now = time.GetUtcNow();
        var credentialTask = tokenService.GetCredentialAsync(Id, ct);
        var limitsTask = gateway.GetLimitsAsync(Id, ct);
        var usageTask = usage.GetStatsAsync(now.AddHours(-24), now, new UsageFilter(CredentialId: Id), top: 5, ct);
        var mintedTask = tokenService.ListCredentialsAsync(new CredentialQuery(Status: "all", ParentId: Id, Limit: 100), ct);

        Credential = ValueOrProblem(await credentialTask);
        var limits = await limitsTask;
        var stats = await usageTask;
        var minted = await mintedTask;
        if (Credential is null)
        {
            if (Problem?.IsNotFound == true)
            {
                Response.StatusCode = StatusCodes.Status404NotFound;
            }

            return;
        }

        (Limits, LimitsProblem) = (limits.Value, limits.Problem);
        (Usage, UsageProblem) = (stats.Value, stats.Problem);
        (Minted, LineageProblem) = (minted.Value, minted.Problem);

        for (var parentId = Credential.ParentId; parentId is not null && Ancestors.Count < MaxAncestors;)
        {
            var parent = await tokenService.GetCredentialAsync(parentId, ct);
            if (!parent.Ok)
            {
                LineageProblem ??= parent.Problem;
                break;
            }

            Ancestors.Add(parent.Value);
            parentId = parent.Value.ParentId;
        }
    }
}
