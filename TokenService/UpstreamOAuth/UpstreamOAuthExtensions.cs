using LlmGateway.TokenService.Apis;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>Upstream OAuth accounts: options, Data Protection with its key ring in PostgreSQL, the store, the routes.</summary>
public static class UpstreamOAuthExtensions
{
    public static IServiceCollection AddUpstreamOAuth(this IServiceCollection services)
    {
        services.AddOptions<UpstreamOAuthOptions>().BindConfiguration(UpstreamOAuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // One application name for every replica: payloads protected by one are readable by the others.
        services.AddDataProtection().SetApplicationName("LlmGateway.TokenService");
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((keys, dataSource) =>
            keys.XmlRepository = new PostgresXmlRepository(dataSource));
        // No resilience handler: a retried refresh_token grant could spend a rotated refresh token twice.
        services.AddHttpClient<UpstreamTokenClient>().RemoveAllResilienceHandlers();
        services.AddSingleton<UpstreamAccountStore>();
        return services;
    }

    public static IEndpointRouteBuilder MapUpstreamOAuthApis(this IEndpointRouteBuilder app)
    {
        app.MapClaudeAccountsApi();
        return app;
    }
}
