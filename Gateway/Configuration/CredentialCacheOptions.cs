using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>The in-process credential cache in front of Redis and TokenService (section <c>Gateway:Credentials</c>).</summary>
public sealed class CredentialCacheOptions
{
    public const string SectionName = "Gateway:Credentials";

    /// <summary>Most credentials held; beyond it expired and then arbitrary entries are dropped.</summary>
    [Range(16, 10_000_000)]
    public int Capacity { get; set; } = 10_000;

    /// <summary>How long a resolved credential is trusted without asking Redis again (revocations evict at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// While the revocation channel (Redis pub/sub) is down, how long a cached credential is trusted before it is
    /// re-validated with TokenService: the longest a revocation made during a Redis outage can go unnoticed.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan UnconfirmedTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long "no such credential" is remembered. Short, so that a credential created a moment ago is not masked,
    /// yet a flood of one bad key cannot hammer Redis.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// When neither Redis nor TokenService can be reached, a credential seen within this window keeps working.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan StaleTtl { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Longest wait for TokenService introspection.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan IntrospectionTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Longest wait for the Redis projection read before falling back to TokenService.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

[OptionsValidator]
public sealed partial class CredentialCacheOptionsValidator : IValidateOptions<CredentialCacheOptions>;
