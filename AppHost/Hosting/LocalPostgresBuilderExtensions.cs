using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using LlmGateway.AppHost.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Aspire.Hosting;

public static class LocalPostgresBuilderExtensions
{
    /// <summary>
    /// Adds PostgreSQL as a local <c>postgres</c> process from the Debian packages (run mode without a container
    /// engine): <c>initdb</c> on first start (scram-sha-256, the generated password, handed over in a file that is
    /// deleted at once), then the server. As root both run as the <c>postgres</c> system user through
    /// <c>setpriv</c>, which execs, so the stop signal reaches the postmaster itself.
    /// </summary>
    /// <param name="durable">false for throw-away apps (tests): fsync, synchronous commit and full-page writes off.</param>
    public static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder,
        [ResourceName] string name,
        IResourceBuilder<ParameterResource> password,
        string directory,
        int port,
        bool durable = true)
    {
        var binaries = LocalBinaries.PostgresBinDirectory();
        var asRoot = LocalBinaries.IsRoot;
        var postgres = Path.Combine(binaries, "postgres");
        var server = new LocalPostgresServerResource(name, asRoot ? "setpriv" : postgres, directory, password.Resource);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(server, async (_, ct) =>
            connectionString = await ((IResourceWithConnectionString)server).GetConnectionStringAsync(ct).ConfigureAwait(false));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (@event, ct) =>
        {
            var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
            await PrepareDataDirectoryAsync(server, binaries, asRoot, durable, logger, ct).ConfigureAwait(false);
        });

        // Databases are created once the server answers, like AddPostgres does; then they report Running.
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (@event, ct) =>
        {
            var notifications = @event.Services.GetRequiredService<ResourceNotificationService>();
            var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
            await using var connection = new NpgsqlConnection($"{connectionString};Database=postgres;Pooling=false;Timeout=10");
            await connection.OpenAsync(ct).ConfigureAwait(false);
            foreach (var database in server.Databases)
            {
                await CreateDatabaseAsync(connection, database.DatabaseName, logger, ct).ConfigureAwait(false);
                await notifications.PublishUpdateAsync(database, s => s with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                }).ConfigureAwait(false);
            }
        });

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => (connectionString ?? throw new InvalidOperationException("The PostgreSQL connection string is not available yet."))
                + ";Database=postgres;Pooling=false",
            name: healthCheckKey);

        string[] settings =
        [
            "-D", server.DataDirectory, "-p", port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=localhost", "-c", $"unix_socket_directories={server.SocketDirectory}",
            "-c", "max_connections=300", "-c", "log_min_messages=warning", "-c", "log_destination=stderr",
            .. durable ? Array.Empty<string>() : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        ];
        return builder.AddResource(server)
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalPostgresServerResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(asRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", postgres, .. settings] : settings)
            .WithEnvironment("LC_ALL", "C.UTF-8")
            .WithIconName("DatabaseMultiple")
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary>Adds a database that is created (if missing) when the server is first ready.</summary>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresServerResource> server, [ResourceName] string name, string? databaseName = null)
    {
        var database = new LocalPostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.AddDatabase(database);

        string? connectionString = null;
        server.ApplicationBuilder.Eventing.Subscribe<ConnectionStringAvailableEvent>(database, async (_, ct) =>
            connectionString = await ((IResourceWithConnectionString)database).GetConnectionStringAsync(ct).ConfigureAwait(false));

        var healthCheckKey = $"{name}_check";
        server.ApplicationBuilder.Services.AddHealthChecks().AddNpgSql(
            _ => (connectionString ?? throw new InvalidOperationException("The database connection string is not available yet.")) + ";Pooling=false",
            name: healthCheckKey);

        // A child of an executable gets no state from the orchestrator: it waits until the server has created it.
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, server.Resource.Name)],
            })
            .WithParentRelationship(server)
            .WithHealthCheck(healthCheckKey);
    }

    private static async Task PrepareDataDirectoryAsync(
        LocalPostgresServerResource server, string binaries, bool asRoot, bool durable, ILogger logger, CancellationToken ct)
    {
        Directory.CreateDirectory(server.Directory);
        Directory.CreateDirectory(server.SocketDirectory);
        if (asRoot)
        {
            // The postgres user must reach its data directory through the state folder, and own it.
            StateFiles.MakeTraversable(server.Directory);
            await LocalBinaries.RunAsync("chown", ["-R", "postgres:postgres", server.Directory], logger, ct).ConfigureAwait(false);
        }

        if (File.Exists(Path.Combine(server.DataDirectory, "PG_VERSION")))
        {
            return;
        }

        logger.LogInformation("Initializing a new PostgreSQL data directory in {DataDirectory}", server.DataDirectory);
        var passwordFile = Path.Combine(server.Directory, "initdb.pw");
        await StateFiles.WriteSecretAsync(passwordFile, (await server.PasswordParameter.GetValueAsync(ct).ConfigureAwait(false))!, ct).ConfigureAwait(false);
        try
        {
            string[] initdb =
            [
                Path.Combine(binaries, "initdb"), "-D", server.DataDirectory, "-U", LocalPostgresServerResource.UserName,
                $"--pwfile={passwordFile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale",
                .. durable ? Array.Empty<string>() : ["--no-sync"],
            ];
            if (asRoot)
            {
                await LocalBinaries.RunAsync("chown", ["postgres:postgres", passwordFile], logger, ct).ConfigureAwait(false);
                await LocalBinaries.RunAsync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", .. initdb], logger, ct).ConfigureAwait(false);
            }
            else
            {
                await LocalBinaries.RunAsync(initdb[0], initdb[1..], logger, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private static async Task CreateDatabaseAsync(NpgsqlConnection connection, string databaseName, ILogger logger, CancellationToken ct)
    {
        var quoted = "\"" + databaseName.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        await using var command = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
        try
        {
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            logger.LogInformation("Created database {Database}", databaseName);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
        }
    }
}
