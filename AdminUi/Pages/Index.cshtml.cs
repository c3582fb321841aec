using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;

namespace LlmGateway.AdminUi.Pages;

public sealed class IndexModel(UsageClient usage, GatewayClient gateway, TimeProvider time) : AdminPageModel
{
    public StatsReport? Stats { get; private set; }

    public GatewayHealth? Health { get; private set; }

    public ApiProblem? HealthProblem { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var stats = usage.GetStatsAsync(now.AddHours(-24), now, new UsageFilter(), top: 5, ct);
        var health = gateway.GetHealthAsync(ct);
        Stats = ValueOrProblem(await stats);
        var healthResult = await health;
        Health = healthResult.Value;
        HealthProblem = healthResult.Problem;
    }
}
