using System.Runtime.InteropServices;
using LlmGateway.AppHost;
using LlmGateway.AppHost.Orchestration;
using Microsoft.Extensions.Configuration;

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args)
    .Build();

using var stop = new CancellationTokenSource();
var signals = 0;
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    if (Interlocked.Increment(ref signals) == 1)
    {
        Console.WriteLine("Stopping every resource...");
        stop.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

return await AppHostRunner.RunAsync(configuration, stop.Token);
