using LlmGateway.TokenService.Infrastructure;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class MigrationRunnerShapeTests
{
    [Fact]
    public void TokenService_migrations_have_increasing_versions()
    {
        var versions = TokenServiceSchema.Migrations.Select(m => m.Version).ToList();
        Assert.Equal(versions.Order().Distinct(), versions);
        Assert.True(versions[0] >= 1);
    }

    [Fact]
    public void The_checksum_ignores_line_endings_and_surrounding_whitespace_but_not_content()
    {
        Assert.Equal(SqlMigrationRunner.Checksum("CREATE TABLE a (x int);\n"), SqlMigrationRunner.Checksum("\r\nCREATE TABLE a (x int);\r\n"));
        Assert.NotEqual(SqlMigrationRunner.Checksum("CREATE TABLE a (x int);"), SqlMigrationRunner.Checksum("CREATE TABLE a (y int);"));
    }
}
