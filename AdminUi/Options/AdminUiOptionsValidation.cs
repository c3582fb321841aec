using Microsoft.Extensions.Options;

namespace LlmGateway.AdminUi.Options;

/// <summary>A bad setting stops the UI at start-up with a message naming the key.</summary>
public sealed class AdminUiOptionsValidation : IValidateOptions<AdminUiOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminUiOptions options)
    {
        var errors = new List<string>();
        if (options.GatewayUrl is not { IsAbsoluteUri: true } url || url.Scheme is not ("http" or "https"))
        {
            errors.Add("AdminUi:GatewayUrl must be an absolute http(s) URL, e.g. http://gateway or https://llm.example.com");
        }

        if (options.SessionLifetime < TimeSpan.FromMinutes(1) || options.SessionLifetime > TimeSpan.FromDays(30))
        {
            errors.Add("AdminUi:SessionLifetime must be between 00:01:00 and 30.00:00:00");
        }

        if (options.ApiTimeout < TimeSpan.FromSeconds(1) || options.ApiTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("AdminUi:ApiTimeout must be between 00:00:01 and 00:05:00");
        }

        if (options.DataProtectionKeysDirectory is { } directory && !Path.IsPathFullyQualified(directory))
        {
            errors.Add("AdminUi:DataProtectionKeysDirectory must be an absolute path");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
