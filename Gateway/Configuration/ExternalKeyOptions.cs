using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>
/// Section <c>ExternalKeys</c> (the same list TokenService reads): shapes of keys issued by another system that the
/// operator registered as credentials. A value matching a pattern is looked up like a gateway credential instead of
/// being rejected as malformed; matching never makes it valid by itself. Empty by default.
/// </summary>
public sealed class ExternalKeyOptions
{
    public const string SectionName = "ExternalKeys";

    public List<ExternalKeyPattern> Patterns { get; set; } = [];
}

public sealed class ExternalKeyOptionsValidator : IValidateOptions<ExternalKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ExternalKeyOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.Patterns.Count; i++)
        {
            var pattern = options.Patterns[i];
            if (string.IsNullOrEmpty(pattern.Prefix))
            {
                failures.Add($"ExternalKeys:Patterns:{i}:Prefix is required.");
            }
            else if (pattern.Prefix.StartsWith("lgw_", StringComparison.Ordinal))
            {
                failures.Add($"ExternalKeys:Patterns:{i}:Prefix must not imitate gateway credentials (lgw_).");
            }

            if (pattern.MaxLength < pattern.MinLength || pattern.MaxLength > 1024)
            {
                failures.Add($"ExternalKeys:Patterns:{i}: MaxLength must be at least MinLength and at most 1024.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
