using LlmGateway.ServiceDefaults.Data;
using LlmGateway.TokenService.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class TokenServiceSchemaTests
{
    [Fact]
    public void TokenService_migrations_are_a_history_the_shared_migrator_accepts()
    {
        // The data source is never opened: the migrator checks the history when it is built.
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");
        var migrator = new SchemaMigrator(dataSource, TokenServiceSchema.Component, TokenServiceSchema.Migrations, NullLogger<SchemaMigrator>.Instance);

        Assert.Equal(TokenServiceSchema.Migrations.Max(m => m.Version), migrator.TargetVersion);
        Assert.All(TokenServiceSchema.Migrations, migration =>
        {
            Assert.False(string.IsNullOrWhiteSpace(migration.Name));
            Assert.False(string.IsNullOrWhiteSpace(migration.Sql));
            // Each migration runs in a transaction with its bookkeeping row.
            Assert.DoesNotContain("CONCURRENTLY", migration.Sql, StringComparison.OrdinalIgnoreCase);
        });
    }
}
