using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

internal static class LimitServiceExtensions
{
    /// <summary>
    /// Shared limits and budgets (<see cref="LimitAdmission"/> as the pipeline's <see cref="IRequestAdmission"/>), the
    /// price table (section <c>Pricing</c>, the same as the UsageWorker's) and the limits admin view.
    /// </summary>
    public static IServiceCollection AddLimits(this IServiceCollection services)
    {
        services.AddOptions<LimitOptions>().BindConfiguration(LimitOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>());
        services.AddPricing();

        services.AddSingleton<LimitPlanner>();
        services.AddSingleton<RedisLimitStore>();
        services.AddSingleton<LocalLimitStore>();
        services.AddSingleton<PendingSpend>();
        services.AddSingleton<LeaseRegistry>();
        services.AddSingleton<QuotaLeasePool>();
        services.AddSingleton<LimitStoreState>();
        services.AddSingleton<LimitTelemetry>();
        services.AddSingleton<LimitAdmission>();
        services.AddSingleton<IRequestAdmission>(provider => provider.GetRequiredService<LimitAdmission>());
        services.AddSingleton<LimitMaintenance>();
        services.AddHostedService(provider => provider.GetRequiredService<LimitMaintenance>());
        services.AddSingleton<CredentialLimitsView>();
        return services;
    }
}
