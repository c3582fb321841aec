namespace LlmGateway.ServiceDefaults.Clients;

/// <summary>
/// Settings of a PostgreSQL data source registered with <c>AddNpgsqlDataSource(name)</c>; the option name is the
/// connection name. Bound from <see cref="SectionName"/> (Aspire's section); <c>ConnectionStrings:&lt;name&gt;</c>
/// wins for the connection string.
/// </summary>
public sealed class NpgsqlClientSettings
{
    public const string SectionName = "Aspire:Npgsql";

    /// <summary>Npgsql connection string, e.g. <c>Host=localhost;Port=5432;Username=postgres;Password=…;Database=llmgateway</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Leave out the <c>&lt;name&gt;_check</c> readiness check.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>How long the readiness check waits for <c>SELECT 1</c> (connection opening included).</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
