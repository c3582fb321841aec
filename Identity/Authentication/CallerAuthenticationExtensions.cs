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
    /// <param name="services">The service's services.</param>
    /// <param name="scheme">Another name for a second kind of caller; its lookup is the <see cref="ICallerCredentialAuthenticator"/> keyed by that name.</param>
    public static AuthenticationBuilder AddCallerScheme(this IServiceCollection services, string scheme = CallerAuthenticationHandler.Name) =>
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, CallerAuthenticationHandler>(scheme, _ => { });

    /// <summary>A policy over the caller scheme (or <paramref name="scheme"/>): an authenticated caller, plus whatever <paramref name="configure"/> requires.</summary>
    public static IServiceCollection AddCallerPolicy(
        this IServiceCollection services, string name, Action<Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder>? configure = null,
        string scheme = CallerAuthenticationHandler.Name)
    {
        services.AddAuthorizationBuilder().AddPolicy(name, policy =>
        {
            policy.AddAuthenticationSchemes(scheme).RequireAuthenticatedUser();
            configure?.Invoke(policy);
        });
        return services;
    }
}
