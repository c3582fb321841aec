using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.ServiceDefaults.Data;
using LlmGateway.ServiceDefaults.Requests;
using LlmGateway.UsageWorker.Apis;
using LlmGateway.UsageWorker.Authentication;
using LlmGateway.UsageWorker.Infrastructure;
using LlmGateway.UsageWorker.Model;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Extensions;

internal static class UsageWorkerExtensions
{
    public const string RedisConnectionName = "redis";
    public const string DatabaseConnectionName = "llmgateway";

    /// <summary>Everything the UsageWorker runs: clients, schema, ingestion, maintenance, spend rebuild, usage API.</summary>
    public static IHostApplicationBuilder AddUsageWorker(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient(RedisConnectionName);
        builder.AddNpgsqlDataSource(DatabaseConnectionName);
        builder.AddSchemaMigrations(UsageSchema.Component, UsageSchema.Migrations);

        var services = builder.Services;
        services.AddOptions<UsageWorkerOptions>().BindConfiguration(UsageWorkerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.SectionName);
        services.AddPricing();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<UsageEventParser>();
        services.AddSingleton<UsageWorkerMetrics>();
        services.AddSingleton(provider => new UsageStream(
            provider.GetRequiredService<IConnectionMultiplexer>(),
            builder.Configuration.GetConnectionString(RedisConnectionName)
                ?? throw new InvalidOperationException($"ConnectionStrings:{RedisConnectionName} is not set."),
            provider.GetRequiredService<IOptions<UsageWorkerOptions>>(),
            provider.GetRequiredService<ILogger<UsageStream>>()));
        services.AddSingleton<UsageStore>();
        services.AddSingleton<UsageQueries>();
        services.AddHostedService<UsageIngestionService>();
        services.AddHostedService<StreamMaintenanceService>();
        services.AddHostedService<SpendCounterRebuilder>();

        services.AddJwtCallers(builder.Configuration);
        services.AddHttpClient<CallerAuthenticator>((provider, client) =>
        {
            client.BaseAddress = provider.GetRequiredService<IOptions<UsageWorkerOptions>>().Value.TokenServiceUrl;
            client.Timeout = TimeSpan.FromSeconds(10);
            client.DefaultRequestHeaders.Add(InternalApi.HeaderName, provider.GetRequiredService<IConfiguration>()[InternalApi.ConfigurationKey] ?? "");
        });
        services.AddTransient<ICallerCredentialAuthenticator>(provider => provider.GetRequiredService<CallerAuthenticator>());
        services.AddSingleton<ICallerErrorWriter, ApiErrorWriter>();
        services.AddCallerScheme();
        services.AddCallerPolicy(UsageApi.ReadPolicy);

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        });
        return builder;
    }

    /// <summary>
    /// Every response carries the request id; unhandled failures and bare status codes (an unknown path's 404) still
    /// answer in Anthropic's error shape, never an HTML page or an empty body.
    /// </summary>
    public static WebApplication UseUsageApiErrors(this WebApplication app)
    {
        app.UseRequestIds(trustIncoming: true);
        app.UseExceptionHandler(errors => errors.Run(async context =>
        {
            var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var result = failure is Npgsql.NpgsqlException
                ? ApiError.StoreUnavailable(context)
                : ApiError.Result(context, StatusCodes.Status500InternalServerError, LlmGateway.Contracts.Errors.AnthropicErrors.Api, "Internal error.");
            await result.ExecuteAsync(context);
        }));
        app.UseStatusCodePages(context => ApiError.ForStatus(context.HttpContext, context.HttpContext.Response.StatusCode).ExecuteAsync(context.HttpContext));
        // Here rather than first (where WebApplication would put them): a challenge's error body then carries the request
        // id, and a failure while authenticating is answered by the handler above.
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
