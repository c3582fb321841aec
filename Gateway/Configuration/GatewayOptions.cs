using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>Request limits and browser access of the public API (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Largest request body accepted; larger bodies get 413 <c>request_too_large</c>.</summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 2 * 1024 * 1024;

    [ValidateObjectMembers]
    public CorsSettings Cors { get; set; } = new();

    /// <summary>
    /// Message batches and files live in the upstream account, which every caller of this gateway shares. Off by
    /// default (403): any key could list and read every other tenant's batches and files. On: each batch and file is
    /// served only to the credential family (a key and the tokens minted from it) that created it.
    /// </summary>
    public bool SharedResourcesEnabled { get; set; }
}

/// <summary>CORS for browser clients; off unless origins are listed.</summary>
public sealed class CorsSettings
{
    /// <summary>Allowed origins (<c>https://app.example.com</c>), or <c>*</c>. Empty: CORS is off.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>How long a browser may cache a preflight answer.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    public bool Enabled => AllowedOrigins.Length > 0;
}

[OptionsValidator]
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>;
