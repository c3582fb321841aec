using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// Configuration that several services must hold alike, stated once in the AppHost's own configuration (its
/// appsettings, user secrets, command line <c>--Pricing:Models:…</c>) and given to each of them as environment
/// variables: the price table is read by the Gateway (budget reservations) and the UsageWorker (recorded cost).
/// </summary>
internal static class SharedConfiguration
{
    public static IResourceBuilder<T> WithConfigurationSection<T>(this IResourceBuilder<T> resource, IConfiguration configuration, string section)
        where T : IResourceWithEnvironment
    {
        foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
        {
            if (value is not null)
            {
                resource.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }

        return resource;
    }
}
