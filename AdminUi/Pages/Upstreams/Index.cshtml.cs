using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Upstreams;

/// <summary>
/// What the gateway says about its upstreams: its health report (upstream, key configured, Redis, each check) and
/// its circuit breakers with a reset. A gateway without <c>/admin/circuit-breaker</c> (404) is said to have none yet.
/// </summary>
public sealed class UpstreamsModel(GatewayClient gateway) : AdminPageModel
{
    public GatewayHealth? Health { get; private set; }
    public ApiProblem? HealthProblem { get; private set; }

    public IReadOnlyList<CircuitBreakerState>? Breakers { get; private set; }

    /// <summary>The gateway answered 404 to the breaker route: it does not offer breakers (yet).</summary>
    public bool BreakersUnavailable { get; private set; }

    public ApiProblem? BreakerProblem { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        var health = gateway.GetHealthAsync(ct);
        var breakers = gateway.GetCircuitBreakersAsync(ct);
        var healthResult = await health;
        (Health, HealthProblem) = (healthResult.Value, healthResult.Problem);
        var breakerResult = await breakers;
        if (breakerResult.Ok)
        {
            Breakers = CircuitBreakerState.ListFrom(breakerResult.Value);
            if (Breakers is null)
            {
                BreakerProblem = new ApiProblem("The gateway", 200, null, "The circuit-breaker report has a shape this page does not know.", null);
            }
        }
        else if (breakerResult.Problem.Status is 404 or 405)
        {
            BreakersUnavailable = true;
        }
        else
        {
            BreakerProblem = breakerResult.Problem;
        }
    }

    public async Task<IActionResult> OnPostResetAsync(CancellationToken ct)
    {
        var reset = await gateway.ResetCircuitBreakersAsync(ct);
        if (reset.Ok)
        {
            return RedirectWithNotice("/upstreams", "Circuit breakers reset: every upstream is tried again.");
        }

        await OnGetAsync(ct);
        if (reset.Problem.Status is 404 or 405)
        {
            BreakersUnavailable = true;
        }
        else
        {
            Problem = reset.Problem;
            Response.StatusCode = StatusCodes.Status502BadGateway;
        }

        return Page();
    }
}
