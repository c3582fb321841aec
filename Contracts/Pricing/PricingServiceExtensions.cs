using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// The price table, registered the same way by every service that prices tokens (the Gateway reserves budgets with
/// it, the UsageWorker records cost with it): section <c>Pricing</c>, validated at start. The AppHost gives both the
/// same section (its own <c>Pricing</c> configuration), so a reservation and the recorded cost never disagree.
/// </summary>
public static class PricingServiceExtensions
{
    public static IServiceCollection AddPricing(this IServiceCollection services)
    {
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>());
        services.TryAddSingleton(provider => PriceTable.Create(provider.GetRequiredService<IOptions<PricingOptions>>().Value));
        return services;
    }
}
