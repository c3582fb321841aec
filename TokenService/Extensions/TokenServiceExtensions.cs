using System.Threading.RateLimiting;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.ServiceDefaults.Data;
using LlmGateway.ServiceDefaults.HealthChecks;
using LlmGateway.ServiceDefaults.Requests;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Options;
using LlmGateway.TokenService.UpstreamOAuth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Extensions;

public static class TokenServiceExtensions
{
    /// <summary>Everything TokenService needs besides the service defaults: clients, options, the credential machinery.</summary>
    public static IHostApplicationBuilder AddTokenServiceServices(this IHostApplicationBuilder builder)
    {
        // No Redis readiness check: TokenService must stay in rotation while Redis is down (see ProjectionHealthCheck).
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddNpgsqlDataSource("llmgateway");
        // Migrates in the background (retrying until PostgreSQL answers) with readiness check tokenservice_schema;
        // BootstrapAdminSyncService opens the credential store once it is done.
        builder.AddSchemaMigrations(TokenServiceSchema.Component, TokenServiceSchema.Migrations);

        var services = builder.Services;
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section);
        services.AddOptions<TokenOptions>().BindConfiguration(TokenOptions.Section).ValidateOnStart();
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section).ValidateOnStart();
        services.AddOptions<ExternalKeyOptions>().BindConfiguration(ExternalKeyOptions.Section).ValidateOnStart();
        services.AddOptions<ProjectionOptions>().BindConfiguration(ProjectionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TokenOptions>, OptionsValidation>();
        services.AddSingleton<IValidateOptions<BootstrapOptions>, OptionsValidation>();
        services.AddSingleton<IValidateOptions<ExternalKeyOptions>, OptionsValidation>();
        services.AddSingleton<IValidateOptions<ProjectionOptions>, OptionsValidation>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TokenServiceMetrics>();
        services.AddSingleton<BootstrapAdminKey>();
        services.AddSingleton<DatabaseReadiness>();
        services.AddSingleton<CredentialProjector>();
        services.AddSingleton<CredentialStore>();
        services.AddSingleton<CredentialReprojection>();
        services.AddSingleton<CredentialAuthenticator>();
        services.AddJwtCallers(builder.Configuration);
        services.AddSingleton<ICallerCredentialAuthenticator>(provider => provider.GetRequiredService<CredentialAuthenticator>());
        services.AddSingleton<ICallerErrorWriter, ApiErrorWriter>();
        services.AddCallerScheme();
        services.AddCallerPolicy(AdminAuthorization.Policy, AdminAuthorization.Require);
        services.AddCallerPolicy(AdminAuthorization.MintPolicy, AdminAuthorization.RequireMint);
        services.AddCallerPolicy(DeviceApi.RefreshPolicy);
        services.AddHostedService<BootstrapAdminSyncService>();
        services.AddHostedService<ProjectionMaintenanceService>();
        services.AddAccounts();
        services.AddUpstreamOAuth();
        services.AddHealthChecks()
            .AddCheck<DatabaseReadiness>("credential-store", tags: [HealthEndpointPaths.ReadyTag])
            .AddCheck<ProjectionHealthCheck>("credential-projection", tags: [HealthEndpointPaths.ReadyTag]);

        services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddRateLimiter(options =>
        {
            options.AddPolicy(DeviceApi.BootstrapRateLimitPolicy, http =>
            {
                var permits = http.RequestServices.GetRequiredService<IOptions<BootstrapOptions>>().Value.RequestsPerMinutePerAddress;
                return RateLimitPartition.GetFixedWindowLimiter(CallerCredential.Address(http), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = permits,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
            });
            options.OnRejected = (context, _) =>
            {
                TimeSpan? retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var value) ? value : null;
                var what = context.HttpContext.Request.Path.StartsWithSegments("/api/auth") ? "sign-in" : "bootstrap";
                return new ValueTask(ApiError.RateLimited($"Too many {what} requests from this address; try again later.", retryAfter)
                    .ExecuteAsync(context.HttpContext));
            };
        });
        return builder;
    }

    /// <summary>
    /// The HTTP conventions of every TokenService route: a request id on every response, errors (thrown, rate-limited or
    /// bare status codes such as routing's 404/405) always as the JSON error shape.
    /// </summary>
    public static WebApplication UseTokenServiceConventions(this WebApplication app)
    {
        app.UseRequestIds(trustIncoming: true);
        // ApiExceptionHandler answers every exception; this delegate is only the framework's required last resort.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context => ApiError.Internal("Internal error.").ExecuteAsync(context),
        });
        app.UseStatusCodePages(context => ApiError.ForStatus(context.HttpContext.Response.StatusCode, context.HttpContext.Request).ExecuteAsync(context.HttpContext));
        app.UseRateLimiter();
        // Here rather than first (where WebApplication would put them): a challenge's error body then carries the request
        // id, and a failure while authenticating (PostgreSQL down) is answered by the handlers above.
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    public static WebApplication MapTokenServiceApis(this WebApplication app)
    {
        app.MapTokensApi();
        app.MapDeviceApi();
        app.MapAdminApi();
        app.MapIntrospectionApi();
        app.MapAccountsApis();
        app.MapUpstreamOAuthApis();
        return app;
    }
}
