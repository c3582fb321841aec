using System.Globalization;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// What <c>dotnet run --project AppHost</c> tells the operator on its console: demo mode, then, once every resource is
/// healthy, a table of resources, states and URLs and where the admin key is (the dashboard shows the rest).
/// </summary>
internal sealed class StartupSummary(IServiceProvider services, AppState state, ParameterResource adminKey, bool demoMode) : BackgroundService
{
    public const string StartTimeoutKey = "AppHost:StartTimeoutSeconds";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (demoMode)
        {
            Console.WriteLine("DEMO MODE: no anthropic-api-key parameter is set, so the gateway forwards to the built-in upstream simulator, not to Anthropic.");
            Console.WriteLine("           Set it with: dotnet user-secrets set Parameters:anthropic-api-key sk-ant-... --project AppHost");
        }

        var notifications = services.GetRequiredService<ResourceNotificationService>();
        var resources = services.GetRequiredService<DistributedApplicationModel>().Resources
            .Where(r => r is not ParameterResource && !r.HasAnnotationOfType<ExplicitStartupAnnotation>())
            .ToList();
        var timeout = TimeSpan.FromSeconds(services.GetRequiredService<IConfiguration>().GetValue(StartTimeoutKey, 120));
        var started = DateTime.UtcNow;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(resources.Select(r => notifications.WaitForResourceHealthyAsync(r.Name, deadline.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            Console.WriteLine($"Not every resource became healthy within {timeout.TotalSeconds:0} s (see the dashboard for each one's console):");
            Console.Write(Table(notifications, resources));
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Console.WriteLine($"every resource is healthy ({(DateTime.UtcNow - started).TotalSeconds:0.0}s):");
        Console.Write(Table(notifications, resources));
        var configured = !string.IsNullOrEmpty(services.GetRequiredService<IConfiguration>()[$"Parameters:{adminKey.Name}"]);
        Console.WriteLine(configured
            ? "admin key: the value of Parameters:admin-key you configured"
            : $"admin key: generated and stored in {state.ParametersFile} (\"{adminKey.Name}\"); set Parameters:admin-key to choose your own");
        Console.WriteLine("Press Ctrl+C to stop.");
    }

    private static string Table(ResourceNotificationService notifications, List<IResource> resources)
    {
        var rows = resources.Select(r =>
        {
            notifications.TryGetCurrentState(r.Name, out var current);
            var snapshot = current?.Snapshot;
            var status = snapshot?.HealthStatus?.ToString() ?? snapshot?.State?.Text ?? "Unknown";
            var url = snapshot?.Urls.FirstOrDefault(u => !u.IsInternal)?.Url
                ?? (r is IResourceWithEndpoints e && e.GetEndpoints().FirstOrDefault() is { IsAllocated: true } endpoint ? endpoint.Url : "");
            return (r.Name, Status: status, Url: url);
        }).ToList();
        var w1 = Math.Max("resource".Length, rows.Max(r => r.Name.Length));
        var w2 = Math.Max("state".Length, rows.Max(r => r.Status.Length));
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"resource".PadRight(w1)}  {"state".PadRight(w2)}  url");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {new string('-', w1)}  {new string('-', w2)}  {new string('-', 30)}");
        foreach (var (name, status, url) in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {name.PadRight(w1)}  {status.PadRight(w2)}  {url}");
        }

        return text.ToString();
    }
}
