using System.Net;
using System.Text.Json;
using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmGateway.ServiceDefaults.Tests.Hosting;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task A_service_with_defaults_answers_health_and_alive_outside_development()
    {
        await using var service = await TestService.StartAsync();

        using var health = await service.Client.GetAsync("/health");
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal("Healthy", await alive.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_failing_readiness_check_fails_health_but_not_alive()
    {
        await using var service = await TestService.StartAsync(builder => builder.Services.AddHealthChecks()
            .AddCheck("database", () => HealthCheckResult.Unhealthy("down"), [HealthEndpointPaths.ReadyTag]));

        using var health = await service.Client.GetAsync("/health");
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task The_health_response_writer_can_be_replaced_and_writes_both_probes()
    {
        await using var service = await TestService.StartAsync(
            builder => builder.Services.AddHealthChecks().AddCheck("upstream", () => HealthCheckResult.Degraded("slow"), [HealthEndpointPaths.ReadyTag]),
            healthResponseWriter: JsonHealth.Writer);

        var health = await JsonHealth.ReadAsync(service);
        using var alive = await service.Client.GetAsync("/alive");
        using var aliveJson = JsonDocument.Parse(await alive.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("Healthy", health.Checks["self"].Status);
        Assert.Equal(["live"], health.Checks["self"].Tags);
        Assert.Equal("slow", health.Checks["upstream"].Description);
        Assert.Equal(["self"], aliveJson.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Probes_need_no_credentials_even_when_everything_else_does()
    {
        await using var service = await TestService.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                builder.Services.AddAuthorization(options =>
                    options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
            },
            app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGet("/private", () => "secret");
            });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = service.Client.BaseAddress };

        using var privateResponse = await client.GetAsync("/private");
        using var health = await client.GetAsync("/health");
        using var alive = await client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.Redirect, privateResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }
}
