using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace LlmGateway.Identity.Authentication;

public static class CallerAuthenticationExtensions
{
    /// <summary>
    /// The caller scheme (<see cref="CallerAuthenticationHandler.Name"/>); the service registers its
    /// <see cref="ICallerCredentialAuthenticator"/> and <see cref="ICallerErrorWriter"/>.
    /// Not the default scheme: only endpoints whose policy names it (<see cref="AddCallerPolicy"/>) run it, so health checks
    /// and anonymous routes pay nothing.
    /// </summary>
    public static AuthenticationBuilder AddCallerScheme(this IServiceCollection services) =>
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, CallerAuthenticationHandler>(CallerAuthenticationHandler.Name, _ => { });

    /// <summary>A policy over the caller scheme: an authenticated caller, plus whatever <paramref name="configure"/> requires.</summary>
    public static IServiceCollection AddCallerPolicy(
        this IServiceCollection services, string name, Action<Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder>? configure = null)
    {
        services.AddAuthorizationBuilder().AddPolicy(name, policy =>
        {
            policy.AddAuthenticationSchemes(CallerAuthenticationHandler.Name).RequireAuthenticatedUser();
            configure?.Invoke(policy);
        });
        return services;
    }
}
