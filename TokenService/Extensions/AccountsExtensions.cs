using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Identity;
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
