using Microsoft.Extensions.Options;

namespace LlmGateway.Contracts.Pricing;

/// <summary>Fails start-up with every problem of the <c>Pricing</c> section, each naming its key (register with <c>ValidateOnStart</c>).</summary>
public sealed class PricingOptionsValidator : IValidateOptions<PricingOptions>
{
    public ValidateOptionsResult Validate(string? name, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
