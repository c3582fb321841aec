using LlmGateway.ServiceDefaults.Data;
using LlmGateway.ServiceDefaults.Tests.Clients;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace LlmGateway.ServiceDefaults.Tests.Data;

/// <summary>
/// <see cref="SchemaMigrator"/> against a real PostgreSQL (the AppHost's <c>llmgateway</c> resource), each test in a
/// fresh database so that it also starts without a <c>schema_migrations</c> table.
/// </summary>
public sealed class SchemaMigratorTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>, IAsyncLifetime
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
        await using (var admin = new NpgsqlConnection(postgres.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = _database }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(postgres.ConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Migrations_apply_once_in_order_and_are_recorded()
    {
        var migrator = Migrator(History);
        Assert.False(migrator.WhenMigrated().IsCompleted);

        Assert.Equal(2, await migrator.MigrateAsync());
        Assert.True(migrator.WhenMigrated().IsCompletedSuccessfully);
        Assert.Equal(0, await Migrator(History).MigrateAsync());

        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        Assert.Equal("1:widgets,2:widget names", await ScalarAsync(
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations WHERE component = 'test'"));
        Assert.Equal(SchemaMigrator.Checksum(History[1].Sql), await ScalarAsync("SELECT checksum FROM schema_migrations WHERE component = 'test' AND version = 2"));
    }

    [Fact]
    public async Task Replicas_of_several_components_starting_together_on_an_empty_database_apply_each_migration_once()
    {
        // Version 1 in both components: histories are kept apart by component, in one table that the first of them creates.
        SchemaMigration[] other = [new(1, "gadgets", "CREATE TABLE gadgets (id int); INSERT INTO gadgets VALUES (1);")];
        var migrators = Enumerable.Range(0, 6).Select(_ => Migrator(History))
            .Concat(Enumerable.Range(0, 6).Select(_ => Migrator(other, "other")))
            .ToList();

        var applied = await Task.WhenAll(migrators.Select(m => Task.Run(() => m.MigrateAsync())));

        Assert.Equal(3, applied.Sum());
        Assert.All(migrators, m => Assert.True(m.IsMigrated));
        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM gadgets"));
        Assert.Equal("other:1,test:1,test:2", await ScalarAsync(
            "SELECT string_agg(component || ':' || version, ',' ORDER BY component, version) FROM schema_migrations"));
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
    }

    [Fact]
    public async Task Versions_may_skip_numbers()
    {
        var migrator = Migrator([History[0], History[1] with { Version = 5 }]);
        Assert.Equal(5, migrator.TargetVersion);

        Assert.Equal(2, await migrator.MigrateAsync());
        Assert.True(migrator.IsMigrated);
        Assert.Equal("1,5", await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"));
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
    public void The_checksum_is_the_SHA256_of_the_trimmed_SQL_with_LF_line_endings()
    {
        // Pinned: databases migrated by earlier builds (TokenService's former runner) hold checksums of this exact formula.
        Assert.Equal("17db4fd369edb9244b9f91d9aeed145c3d04ad8ba6e95d06247f07a63527d11a", SchemaMigrator.Checksum("SELECT 1;"));
        Assert.Equal(SchemaMigrator.Checksum("CREATE TABLE a (x int);\nSELECT 1;"), SchemaMigrator.Checksum("\r\n  CREATE TABLE a (x int);\r\nSELECT 1;\r\n"));
        Assert.NotEqual(SchemaMigrator.Checksum("CREATE TABLE a (x int);"), SchemaMigrator.Checksum("CREATE TABLE a (y int);"));
        Assert.NotEqual(SchemaMigrator.Checksum("CREATE TABLE a (x  int);"), SchemaMigrator.Checksum("CREATE TABLE a (x int);"));
    }

    [Fact]
    public async Task The_service_starts_with_PostgreSQL_down_is_unhealthy_and_migrates_once_it_is_back()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_dataSource);
        builder.AddSchemaMigrations("test", History);
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var migrator = host.Services.GetRequiredKeyedService<SchemaMigrator>("test");

        await postgres.App.StopResourceAsync("postgres");
        try
        {
            await host.StartAsync();
            var report = await health.CheckHealthAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Entries["test_schema"].Status);
            Assert.Contains("schema of test not migrated yet", report.Entries["test_schema"].Description, StringComparison.Ordinal);
            Assert.False(migrator.IsMigrated);
        }
        finally
        {
            await postgres.App.StartResourceAsync("postgres");
        }

        await migrator.WhenMigrated().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["test_schema"].Status);
        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM widgets"));
        await host.StopAsync();
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
