using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>
/// The services behind the control-plane routes the gateway serves on its public address
/// (section <c>Gateway:ControlPlane</c>).
/// </summary>
public sealed class ControlPlaneOptions
{
    public const string SectionName = "Gateway:ControlPlane";

    /// <summary>Owner of <c>/v1/tokens</c>, <c>/bootstrap</c>, <c>/refresh</c>, <c>/admin/*</c> and credential introspection.</summary>
    [Required]
    public Uri TokenService { get; set; } = new("http://tokenservice");

    /// <summary>Owner of <c>/admin/usage*</c> and <c>/admin/stats*</c>.</summary>
    [Required]
    public Uri UsageWorker { get; set; } = new("http://usageworker");

    /// <summary>Total timeout of a forwarded control-plane call (these are never retried).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

[OptionsValidator]
public sealed partial class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>;
