using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Options;

/// <summary>Start-up validation of TokenService's options: a bad value stops the service with a message naming the key.</summary>
public sealed class OptionsValidation :
    IValidateOptions<TokenOptions>, IValidateOptions<BootstrapOptions>, IValidateOptions<ExternalKeyOptions>, IValidateOptions<ProjectionOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenOptions options)
    {
        var errors = new List<string>();
        if (Duration(options.DefaultTtl, "Tokens:DefaultTtl", errors) is { } ttl && (ttl < TokenOptions.MinTtl || ttl > TokenOptions.MaxTtl))
        {
            errors.Add("Tokens:DefaultTtl must be between 1s and 24h");
        }

        if (options.MaxActivePerParent < 1)
        {
            errors.Add("Tokens:MaxActivePerParent must be at least 1");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, BootstrapOptions options)
    {
        var errors = new List<string>();
        if (Duration(options.Ttl, "Bootstrap:Ttl", errors) is { } ttl && ttl < TokenOptions.MinTtl)
        {
            errors.Add("Bootstrap:Ttl must be at least 1s");
        }

        if (Duration(options.RefreshGracePeriod, "Bootstrap:RefreshGracePeriod", errors) is { } grace && grace < TimeSpan.Zero)
        {
            errors.Add("Bootstrap:RefreshGracePeriod must not be negative");
        }

        Add(errors, ScopeRules.ValidateModels(options.Models, "Bootstrap:Models"));
        Add(errors, ScopeRules.ValidateRoutes(options.Routes, "Bootstrap:Routes"));
        Add(errors, ScopeRules.ValidateLimits(options.Limits, "Bootstrap:Limits"));
        if (options.RequestsPerMinutePerAddress < 1)
        {
            errors.Add("Bootstrap:RequestsPerMinutePerAddress must be at least 1");
        }

        if (options.ProxyBaseUrl is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            errors.Add("Bootstrap:ProxyBaseUrl must be an absolute http(s) URL");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, ExternalKeyOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Patterns.Count; i++)
        {
            var pattern = options.Patterns[i];
            var key = $"ExternalKeys:Patterns:{i}";
            if (pattern.Prefix.Length < 3 || !pattern.Prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                errors.Add($"{key}:Prefix must be at least 3 characters of letters, digits, '_' or '-'");
            }
            else if (pattern.Prefix.StartsWith("lgw_", StringComparison.Ordinal))
            {
                errors.Add($"{key}:Prefix must not overlap the gateway's own lgw_ credentials");
            }

            if (pattern.MaxLength < Math.Max(pattern.MinLength, pattern.Prefix.Length + ExternalKeyPattern.MinimumRandomLength) || pattern.MaxLength > 1024)
            {
                errors.Add($"{key}:MaxLength must be at least MinLength (and the prefix plus {ExternalKeyPattern.MinimumRandomLength}) and at most 1024");
            }
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, ProjectionOptions options)
    {
        var errors = new List<string>();
        if (Duration(options.CheckInterval, "Projection:CheckInterval", errors) is { } interval && interval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add("Projection:CheckInterval must be at least 100ms");
        }

        if (Duration(options.RevokedLookback, "Projection:RevokedLookback", errors) is { } lookback && lookback < TimeSpan.Zero)
        {
            errors.Add("Projection:RevokedLookback must not be negative");
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            errors.Add("Projection:BatchSize must be between 1 and 10000");
        }

        return Result(errors);
    }

    private static TimeSpan? Duration(string value, string key, List<string> errors)
    {
        if (GoDuration.TryParse(value, out var duration, out var error))
        {
            return duration;
        }

        errors.Add($"{key} {error}");
        return null;
    }

    private static void Add(List<string> errors, string? error)
    {
        if (error is not null)
        {
            errors.Add(error);
        }
    }

    private static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
