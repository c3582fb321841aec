using LlmGateway.ServiceDefaults.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class HttpResilienceExtensions
{
    /// <summary>
    /// Registers the standard pipeline's services and binds <see cref="HttpResilienceOptions"/> for every client
    /// from the configuration section <c>HttpResilience</c>. Called by <c>AddServiceDefaults</c>.
    /// </summary>
    public static IServiceCollection AddStandardHttpResilience(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);

        services.TryAddSingleton<HttpResiliencePipelineProvider>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpResilienceOptions>, HttpResilienceOptionsValidator>());
        services.ConfigureAll<HttpResilienceOptions>(options => configuration.GetSection(HttpResilienceOptions.SectionName).Bind(options));
        services.AddOptions<HttpResilienceOptions>().ValidateOnStart();

        return services;
    }

    /// <summary>
    /// Adds the standard resilience handler (concurrency limit, total timeout, retry, circuit breaker, attempt
    /// timeout) to this client and makes <see cref="HttpClient.Timeout"/> infinite, since the pipeline owns timeouts.
    /// The pipeline is per client name.
    /// </summary>
    public static IHttpClientBuilder AddStandardResilienceHandler(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.TryAddSingleton<HttpResiliencePipelineProvider>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpResilienceOptions>, HttpResilienceOptionsValidator>());
        builder.ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);

        // The handler builder knows the client's name even when this runs from ConfigureHttpClientDefaults.
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, options =>
            options.HttpMessageHandlerBuilderActions.Add(handlerBuilder =>
            {
                var provider = handlerBuilder.Services.GetRequiredService<HttpResiliencePipelineProvider>();
                handlerBuilder.AdditionalHandlers.Add(new StandardResilienceHandler(provider.GetPipeline(handlerBuilder.Name ?? string.Empty)));
            }));
        return builder;
    }

    /// <summary>
    /// Removes the standard resilience handler that <c>AddServiceDefaults</c> gives every client, for clients
    /// whose calls must not be retried, limited or timed out by it (e.g. long-lived streaming). The client keeps
    /// service discovery, and its <see cref="HttpClient.Timeout"/> stays infinite unless the client sets one.
    /// </summary>
    public static IHttpClientBuilder WithoutStandardResilience(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.ConfigureAdditionalHttpMessageHandlers((handlers, _) =>
        {
            for (var i = handlers.Count - 1; i >= 0; i--)
            {
                if (handlers[i] is StandardResilienceHandler)
                {
                    handlers.RemoveAt(i);
                }
            }
        });
        return builder;
    }

    /// <summary>Overrides the standard pipeline's settings for this client only (after configuration binding).</summary>
    public static IHttpClientBuilder ConfigureStandardResilience(this IHttpClientBuilder builder, Action<HttpResilienceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        builder.Services.Configure(builder.Name, configure);
        return builder;
    }
}
