using System.Threading.RateLimiting;
using LlmGateway.Identity.Authentication;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Extensions;

/// <summary>Local accounts, TokenService as a JWT issuer, self-service keys.</summary>
public static class AccountsExtensions
{
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccountOptions>, AccountOptionsValidation>();
        services.AddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        services.AddSingleton<ISigningKeyProtector, UnwrappedSigningKeys>();
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<UserTokens>();
        services.AddSingleton<UserAuthenticator>();
        services.AddKeyedSingleton<ICallerCredentialAuthenticator>(UserAuthenticator.Scheme, (provider, _) => provider.GetRequiredService<UserAuthenticator>());
        services.AddCallerScheme(UserAuthenticator.Scheme);
        services.AddCallerPolicy(UserAuthenticator.Scheme, scheme: UserAuthenticator.Scheme);
        // Lockout protects one account; this slows one address trying many accounts (per instance, like bootstrap's).
        services.Configure<RateLimiterOptions>(options => options.AddPolicy(AuthApi.SignInRateLimitPolicy, http =>
        {
            var permits = http.RequestServices.GetRequiredService<IOptions<AccountOptions>>().Value.SignInsPerMinutePerAddress;
            return RateLimitPartition.GetFixedWindowLimiter(CallerCredential.Address(http), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
        }));
        return services;
    }

    public static IEndpointRouteBuilder MapAccountsApis(this IEndpointRouteBuilder app)
    {
        app.MapAuthApi();
        app.MapKeysApi();
        app.MapWellKnownApi();
        app.MapAccountsAdminApi();
        return app;
    }
}
