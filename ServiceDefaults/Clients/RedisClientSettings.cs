namespace LlmGateway.ServiceDefaults.Clients;

/// <summary>
/// Settings of a Redis client registered with <c>AddRedisClient(name)</c>; the option name is the connection name.
/// Bound from <see cref="SectionName"/> (Aspire's section); <c>ConnectionStrings:&lt;name&gt;</c> wins for the connection string.
/// </summary>
public sealed class RedisClientSettings
{
    public const string SectionName = "Aspire:StackExchange:Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>localhost:6379,password=…</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Leave out the <c>&lt;name&gt;_check</c> readiness check.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>How long the readiness check waits for PING.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
