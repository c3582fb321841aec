using LlmGateway.ServiceDefaults.Data;
using LlmGateway.UsageWorker.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace LlmGateway.UsageWorker.Tests.Data;

/// <summary>ServiceDefaults' SchemaMigrator against the real PostgreSQL, each test in a fresh database.</summary>
[Collection(UsageAppCollection.Name)]
public sealed class SchemaMigratorTests(UsageAppFixture fixture) : IAsyncLifetime
{
    private static readonly SchemaMigration[] History =
    [
        new(1, "widgets", "CREATE TABLE widgets (id int PRIMARY KEY); INSERT INTO widgets VALUES (1);"),
        new(2, "widget names", "ALTER TABLE widgets ADD COLUMN name text; INSERT INTO widgets VALUES (2, 'two');"),
    ];

    private readonly string _database = "migrations_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        await using (var admin = new NpgsqlConnection(fixture.DatabaseConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(fixture.DatabaseConnectionString) { Database = _database }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(fixture.DatabaseConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Migrations_apply_once_in_order_and_are_recorded()
    {
        Assert.Equal(2, await Migrator(History).MigrateAsync());
        Assert.Equal(0, await Migrator(History).MigrateAsync());

        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        Assert.Equal("1:widgets,2:widget names", await ScalarAsync(
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations WHERE component = 'test'"));
        Assert.Equal(SchemaMigrator.Checksum(History[1].Sql), await ScalarAsync("SELECT checksum FROM schema_migrations WHERE component = 'test' AND version = 2"));
    }

    [Fact]
    public async Task Replicas_starting_together_apply_each_migration_once()
    {
        var migrators = Enumerable.Range(0, 8).Select(_ => Migrator(History)).ToList();
        var applied = await Task.WhenAll(migrators.Select(m => Task.Run(() => m.MigrateAsync())));

        Assert.Equal(2, applied.Sum());
        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        Assert.All(migrators, m => Assert.True(m.IsMigrated));
    }

    [Fact]
    public async Task Components_keep_separate_histories_in_one_table()
    {
        await Migrator(History).MigrateAsync();
        await Migrator([new(1, "gadgets", "CREATE TABLE gadgets (id int)")], "other").MigrateAsync();
        Assert.Equal(3L, await ScalarAsync("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task A_failing_migration_leaves_nothing_behind_and_later_ones_wait()
    {
        SchemaMigration[] broken = [History[0], new(2, "broken", "CREATE TABLE half_done (id int); SELECT no_such_function();"), new(3, "after", "CREATE TABLE later (id int)")];
        var migrator = Migrator(broken);
        await Assert.ThrowsAsync<PostgresException>(() => migrator.MigrateAsync());

        Assert.False(migrator.IsMigrated);
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_migrations"));
        Assert.Null(await ScalarAsync("SELECT to_regclass('half_done')::text"));
        Assert.Null(await ScalarAsync("SELECT to_regclass('later')::text"));

        // The fixed build applies the rest.
        Assert.Equal(1, await Migrator(History).MigrateAsync());
    }

    [Fact]
    public async Task A_schema_newer_than_the_build_is_tolerated()
    {
        await Migrator(History).MigrateAsync();
        var older = Migrator(History[..1]);
        Assert.Equal(0, await older.MigrateAsync());
        Assert.True(older.IsMigrated);
    }

    [Fact]
    public void Versions_must_be_positive_and_increasing()
    {
        Assert.Throws<ArgumentException>(() => Migrator([new(2, "b", "SELECT 1"), new(1, "a", "SELECT 1")]));
        Assert.Throws<ArgumentException>(() => Migrator([new(1, "a", "SELECT 1"), new(1, "again", "SELECT 1")]));
        Assert.Throws<ArgumentException>(() => Migrator([new(0, "zero", "SELECT 1")]));
        Assert.Equal(3, Migrator([new(1, "a", "SELECT 1"), new(3, "c", "SELECT 1")]).TargetVersion);
    }

    [Fact]
    public async Task A_migration_edited_after_it_was_applied_stops_the_schema_from_being_current()
    {
        await Migrator(History).MigrateAsync();
        var edited = Migrator([History[0] with { Sql = History[0].Sql + " -- tweaked" }, History[1]]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => edited.MigrateAsync());
        Assert.Contains("test v1 (widgets) was changed after it was applied", error.Message, StringComparison.Ordinal);
        Assert.False(edited.IsMigrated);

        // Line endings and surrounding blanks do not count as edits.
        Assert.Equal(0, await Migrator([History[0] with { Sql = "\n" + History[0].Sql.Replace("\n", "\r\n", StringComparison.Ordinal) + "  " }, History[1]]).MigrateAsync());
    }

    [Fact]
    public async Task The_service_starts_with_PostgreSQL_down_and_is_unhealthy_until_migrated()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(_dataSource);
        builder.AddSchemaMigrations("test", History);
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var migrator = host.Services.GetRequiredKeyedService<SchemaMigrator>("test");

        await fixture.App.StopResourceAsync("postgres");
        try
        {
            await host.StartAsync();
            var report = await health.CheckHealthAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Entries["test_schema"].Status);
            Assert.False(migrator.IsMigrated);
        }
        finally
        {
            await fixture.App.StartResourceAsync("postgres");
        }

        await migrator.WhenMigrated().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["test_schema"].Status);
        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        await host.StopAsync();
        await fixture.App.WaitForResourceHealthyAsync("usageworker");
    }

    private SchemaMigrator Migrator(IReadOnlyList<SchemaMigration> migrations, string component = "test") =>
        new(_dataSource, component, migrations, NullLogger<SchemaMigrator>.Instance);

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }
}
