using LlmGateway.TokenService.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class MigrationRunnerTests(TokenServiceApp service)
{
    [Fact]
    public async Task Replicas_starting_together_apply_each_migration_exactly_once()
    {
        var component = "test_" + Guid.NewGuid().ToString("N")[..12];
        var table = component + "_runs";
        SqlMigration[] migrations =
        [
            new(1, "create", $"CREATE TABLE {table} (n integer NOT NULL); INSERT INTO {table} VALUES (1);"),
            new(2, "second row", $"INSERT INTO {table} VALUES (2);"),
        ];
        await using var dataSource = NpgsqlDataSource.Create(service.PostgresConnectionString);

        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => new SqlMigrationRunner(dataSource, NullLogger<SqlMigrationRunner>.Instance).ApplyAsync(component, migrations, CancellationToken.None))));

        Assert.Equal(2, applied.Sum());
        Assert.Equal(2L, await ScalarAsync(dataSource, $"SELECT count(*) FROM {table}"));
        Assert.Equal(2L, await ScalarAsync(dataSource, $"SELECT count(*) FROM schema_migrations WHERE component = '{component}'"));
        Assert.Equal(0, await new SqlMigrationRunner(dataSource, NullLogger<SqlMigrationRunner>.Instance).ApplyAsync(component, migrations, CancellationToken.None));
    }

    [Fact]
    public async Task An_applied_migration_that_was_edited_stops_start_up_and_a_failing_one_leaves_no_trace()
    {
        var component = "test_" + Guid.NewGuid().ToString("N")[..12];
        await using var dataSource = NpgsqlDataSource.Create(service.PostgresConnectionString);
        var runner = new SqlMigrationRunner(dataSource, NullLogger<SqlMigrationRunner>.Instance);
        await runner.ApplyAsync(component, [new(1, "t", $"CREATE TABLE {component} (a int);")], CancellationToken.None);

        var edited = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            runner.ApplyAsync(component, [new(1, "t", $"CREATE TABLE {component} (b int);")], CancellationToken.None));
        Assert.Contains("was changed after it was applied", edited.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<PostgresException>(() => runner.ApplyAsync(component,
            [new(1, "t", $"CREATE TABLE {component} (a int);"), new(2, "broken", $"CREATE TABLE {component}_2 (a int); SELECT no_such_function();")],
            CancellationToken.None));
        Assert.Equal(0L, await ScalarAsync(dataSource, $"SELECT count(*) FROM information_schema.tables WHERE table_name = '{component}_2'"));
        Assert.Equal(1L, await ScalarAsync(dataSource, $"SELECT count(*) FROM schema_migrations WHERE component = '{component}'"));
    }

    [Fact]
    public async Task TokenService_recorded_its_own_migrations()
    {
        await using var dataSource = NpgsqlDataSource.Create(service.PostgresConnectionString);
        Assert.Equal((long)TokenServiceSchema.Migrations.Count, await ScalarAsync(dataSource, "SELECT count(*) FROM schema_migrations WHERE component = 'tokenservice'"));
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
