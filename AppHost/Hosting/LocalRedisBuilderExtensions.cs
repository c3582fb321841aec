using System.Globalization;
using System.Text;
using Aspire.Hosting.ApplicationModel;
using LlmGateway.AppHost.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

public static class LocalRedisBuilderExtensions
{
    /// <summary>
    /// Adds Redis as a local <c>redis-server</c> process (run mode without a container engine). The password and
    /// settings go into a generated <c>redis.conf</c> (mode 600), never onto the command line; data (an append-only
    /// file) lives in <paramref name="dataDirectory"/> and survives restarts. The endpoint is not proxied: the hot path
    /// talks to Redis directly, and a restart keeps the port.
    /// </summary>
    /// <param name="durable">fsync the append-only file every second and snapshot; off for throw-away apps.</param>
    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(
        this IDistributedApplicationBuilder builder,
        [ResourceName] string name,
        IResourceBuilder<ParameterResource> password,
        string dataDirectory,
        int port,
        bool durable = true)
    {
        var redis = new LocalRedisResource(name, dataDirectory, password.Resource);
        var configFile = Path.Combine(dataDirectory, "redis.conf");

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(redis, async (_, ct) =>
            connectionString = await ((IResourceWithConnectionString)redis).GetConnectionStringAsync(ct).ConfigureAwait(false));

        // Written before every start, so a changed password or port takes effect on the next start.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(redis, async (_, ct) =>
        {
            Directory.CreateDirectory(dataDirectory);
            var secret = await redis.PasswordParameter.GetValueAsync(ct).ConfigureAwait(false);
            var settings = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"port {port}")
                .AppendLine("bind 127.0.0.1 -::1")
                .AppendLine("protected-mode yes")
                .AppendLine(CultureInfo.InvariantCulture, $"requirepass \"{secret}\"")
                .AppendLine(CultureInfo.InvariantCulture, $"dir \"{dataDirectory}\"")
                .AppendLine("daemonize no")
                .AppendLine("logfile \"\"")
                // The usage stream must survive a Redis restart: append-only file, fsync every second, plus snapshots.
                // Throw-away apps (tests) keep the file but leave flushing to the OS: a stop and start keeps the data.
                .AppendLine("appendonly yes")
                .AppendLine(durable ? "appendfsync everysec" : "appendfsync no")
                .AppendLine(durable ? "save 60 1" : "save \"\"")
                .ToString();
            await StateFiles.WriteSecretAsync(configFile, settings, ct).ConfigureAwait(false);
        });

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(
            _ => connectionString ?? throw new InvalidOperationException("The Redis connection string is not available yet."),
            name: healthCheckKey);

        return builder.AddResource(redis)
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalRedisResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(configFile)
            .WithIconName("Database")
            .WithHealthCheck(healthCheckKey);
    }
}
