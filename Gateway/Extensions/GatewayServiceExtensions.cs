using LlmGateway.Contracts;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Apis;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Pipeline.Steps;
using LlmGateway.Gateway.Redis;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Telemetry;
using LlmGateway.Gateway.Translation;
using LlmGateway.Gateway.Usage;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Extensions;

internal static class GatewayServiceExtensions
{
    /// <summary>The named client of TokenService's introspection (no resilience handler: the resolver has its own fallbacks).</summary>
    public const string IntrospectionClientName = "tokenservice-introspection";

    private const string CorsPolicy = "gateway";

    /// <summary>Everything the gateway registers: options, credential resolution, forwarding, limits, usage, telemetry.</summary>
    public static WebApplicationBuilder AddGatewayServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(services, GatewayOptions.SectionName);
        AddValidatedOptions<UpstreamOptions, UpstreamOptionsValidator>(services, UpstreamOptions.SectionName);
        AddValidatedOptions<RoutingOptions, RoutingOptionsValidator>(services, RoutingOptions.SectionName);
        AddValidatedOptions<CredentialCacheOptions, CredentialCacheOptionsValidator>(services, CredentialCacheOptions.SectionName);
        AddValidatedOptions<UsageOptions, UsageOptionsValidator>(services, UsageOptions.SectionName);
        AddValidatedOptions<ControlPlaneOptions, ControlPlaneOptionsValidator>(services, ControlPlaneOptions.SectionName);
        AddValidatedOptions<ExternalKeyOptions, ExternalKeyOptionsValidator>(services, ExternalKeyOptions.SectionName);

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            // The proxy adds no Server header of its own; the upstream's is forwarded.
            kestrel.AddServerHeader = false;
            // Routes that read a body enforce Gateway:MaxRequestBodyBytes themselves (413 in Anthropic's shape);
            // Kestrel's own limit stays as a backstop for every other route, never below the gateway's.
            var limit = kestrel.Limits.MaxRequestBodySize ?? long.MaxValue;
            kestrel.Limits.MaxRequestBodySize = Math.Max(limit, gateway.Value.MaxRequestBodyBytes + 1L);
            RequestSizeLimits.ConfigureKestrel(kestrel.Limits);
        });

        services.TryAddSingleton(TimeProvider.System);

        // Redis down leaves the gateway serving (cached credentials, usage spool), so its check reports degraded
        // instead of the default unhealthy, which would take every replica out of rotation at once.
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        // The hot path's scripts (admission, settlement, usage events) go over a pipelined connection of their own.
        services.AddSingleton(provider =>
        {
            var configuration = provider.GetRequiredService<IConfiguration>();
            // Gateway:HotPathRedis=StackExchange runs the scripts over StackExchange.Redis instead (the benchmark
            // compares the two with it; see README, "The hot path's Redis connection").
            var useMultiplexer = string.Equals(configuration["Gateway:HotPathRedis"], "StackExchange", StringComparison.OrdinalIgnoreCase);
            var runner = ScriptRunner.Create(
                useMultiplexer ? null : configuration.GetConnectionString("redis"),
                provider.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(),
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger("LlmGateway.Gateway.Redis"));
            if (runner is RespScriptRunner resp)
            {
                _ = resp.Connection.WarmUpAsync();
            }

            return runner;
        });

        // Credentials
        services.AddSingleton<CredentialCache>();
        services.AddSingleton(provider => new RedisCredentialStore(provider.GetRequiredService<IConnectionMultiplexer>(),
            provider.GetRequiredService<IOptions<CredentialCacheOptions>>().Value.RedisTimeout,
            provider.GetRequiredService<ILogger<RedisCredentialStore>>()));
        services.AddSingleton(provider =>
        {
            var clients = provider.GetRequiredService<IHttpClientFactory>();
            return new TokenServiceIntrospection(() => clients.CreateClient(IntrospectionClientName),
                provider.GetRequiredService<IOptions<CredentialCacheOptions>>().Value.IntrospectionTimeout,
                provider.GetRequiredService<ILogger<TokenServiceIntrospection>>());
        });
        services.AddSingleton<CredentialChannel>();
        services.AddSingleton<DisabledAccounts>();
        services.AddSingleton<CredentialResolver>();
        services.AddSingleton<RevocationListener>();
        services.AddHostedService(provider => provider.GetRequiredService<RevocationListener>());
        // The resolver has its own fallbacks (stale cache) and a short deadline: a fast failure beats retries here.
        services.AddHttpClient(IntrospectionClientName)
            .ConfigureHttpClient((provider, client) =>
            {
                client.BaseAddress = provider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.TokenService;
                client.DefaultRequestHeaders.Add(InternalApi.HeaderName, provider.GetRequiredService<IConfiguration>()[InternalApi.ConfigurationKey] ?? "");
            })
            .RemoveAllResilienceHandlers();

        // Callers: the shared caller scheme with the gateway's lookup, and the routes' policies. JWT callers
        // (Identity:Issuers) are validated by that lookup (GatewayCallerAuthenticator), so no JWT scheme may become the
        // default and run for every request in the authentication middleware.
        JwtCallerServiceCollectionExtensions.SuppressAutoDefaultScheme();
        services.AddJwtCallers(builder.Configuration);
        services.AddSingleton<ICallerCredentialAuthenticator, GatewayCallerAuthenticator>();
        services.AddSingleton<ICallerErrorWriter, CallerRefusalWriter>();
        services.AddCallerScheme();
        services.AddCallerPolicies();

        // Forwarding
        services.AddSingleton<ModelNameTable>();
        services.AddSingleton<UpstreamHttp>();
        services.AddSingleton<UpstreamCatalog>();
        services.TryAddSingleton(provider => new CircuitBreakerClock(provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<CircuitBreakerRegistry>();
        services.AddSingleton<UpstreamRouter>();
        services.AddSingleton<CircuitBreakerBroadcast>();
        services.AddHostedService(provider => provider.GetRequiredService<CircuitBreakerBroadcast>());
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<UpstreamAccountTokens>();
        services.AddHttpClient(UpstreamAccountTokens.HttpClientName)
            .ConfigureHttpClient((provider, client) =>
            {
                client.BaseAddress = provider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.TokenService;
                client.DefaultRequestHeaders.Add(InternalApi.HeaderName, provider.GetRequiredService<IConfiguration>()[InternalApi.ConfigurationKey] ?? "");
            })
            .RemoveAllResilienceHandlers();
        services.AddSingleton<UpstreamModelList>();
        services.AddHttpForwarder();
        services.AddSingleton<ControlPlaneForwarder>();
        AddControlPlaneClient(services, ControlPlaneForwarder.TokenServiceClient, o => o.TokenService);
        AddControlPlaneClient(services, ControlPlaneForwarder.UsageWorkerClient, o => o.UsageWorker);

        // Usage
        services.AddSingleton<UsageSpool>();
        services.AddSingleton<UsageEmitter>();
        services.AddSingleton<UsageStreamWriter>();
        services.AddHostedService<UsageDispatcher>();

        // Limits and budgets (the pipeline's admission step)
        services.AddLimits();

        // Pipelines
        services.AddSingleton<GatewayTelemetry>();
        services.AddSingleton<ChatCompletionsTranslation>();
        services.AddSingleton<ModelRequestTelemetry>();
        services.AddSingleton<ModelRequestReader>();
        services.AddSingleton<ModelRequestAdmission>();
        services.AddSingleton<ModelRequestRouting>();
        services.AddSingleton<ResponseMeter>();
        services.AddSingleton<ModelRequestRecorder>();
        services.AddSingleton<ModelRequestPipeline>();
        services.AddSingleton<PassthroughPipeline>();
        services.AddSingleton<UnmeteredAdmission>();
        services.AddSingleton<SharedResources>();

        services.AddHealthChecks()
            .AddCheck<GatewayRedisHealthCheck>("redis_check", tags: ["ready"])
            .AddCheck<UpstreamKeyHealthCheck>("upstream_key", tags: ["ready"]);

        // The policy is built from the validated options; the middleware is only added when origins are configured.
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<GatewayOptions>>((options, gateway) =>
        {
            var cors = gateway.Value.Cors;
            if (!cors.Enabled)
            {
                return;
            }

            options.AddPolicy(CorsPolicy, policy =>
            {
                if (cors.AllowedOrigins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins(cors.AllowedOrigins);
                }

                policy.AllowAnyHeader()
                    .WithMethods("GET", "POST", "DELETE", "HEAD", "OPTIONS")
                    .WithExposedHeaders("request-id", "upstream-request-id", "retry-after", "x-should-retry",
                        "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
                        "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset")
                    .SetPreflightMaxAge(cors.PreflightMaxAge);
            });
        });

        return builder;
    }

    /// <summary>Middleware and endpoints, in order.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        // The gateway is the edge: every request gets a new id, whatever the caller sent.
        app.UseRequestIds(trustIncoming: false);
        app.Use(RequestSizeLimits.CheckAsync);
        if (app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.Cors.Enabled)
        {
            app.UseCors(CorsPolicy);
        }

        // Before any endpoint runs (routing has matched, nothing has been forwarded): only canonical paths pass.
        app.Use(static (context, next) => CanonicalPath.Problem(context.Request.Path.Value) is { } problem
            ? AnthropicErrors.WriteAsync(context, StatusCodes.Status400BadRequest, AnthropicErrors.InvalidRequest,
                $"The path '{Uri.EscapeDataString(context.Request.Path.Value ?? "")}' is not valid: it contains {problem}.", RequestIds.Of(context))
            : next(context));

        // After the request id, size limits, CORS and the path check: a refusal carries the id, and a bad path is
        // refused before any credential lookup.
        app.UseAuthorization();

        app.MapGatewayHealth();
        app.MapLimitsAdminApi();
        app.MapCircuitBreakerApi();
        app.MapControlPlaneApi();
        app.MapAnthropicApi();
        app.MapOpenAiApi();
        app.MapAnthropicNotFound();
        return app;
    }

    private static void AddValidatedOptions<TOptions, TValidator>(IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }

    /// <summary>
    /// A client for forwarded control-plane calls: service discovery resolves <c>http://tokenservice</c>; no standard
    /// resilience (these POSTs are not idempotent and are never retried), but a total timeout; bytes untouched.
    /// </summary>
    private static void AddControlPlaneClient(IServiceCollection services, string name, Func<ControlPlaneOptions, Uri> address)
    {
        services.AddHttpClient(name)
            .ConfigureHttpClient((provider, client) =>
            {
                var options = provider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
                client.BaseAddress = address(options);
                client.Timeout = options.Timeout;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                UseCookies = false,
                UseProxy = false,
            })
            .RemoveAllResilienceHandlers();
    }
}
