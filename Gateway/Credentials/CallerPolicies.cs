using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// What an authenticated caller (<see cref="GatewayCallerAuthenticator"/>) may call, as policies over the caller scheme.
/// A refusal names what the caller holds, and is written in the route's shape (<see cref="CallerRefusalWriter"/>).
/// </summary>
internal static class CallerPolicies
{
    /// <summary>
    /// The model API (<c>/v1/*</c>): any credential but an admin key, within its route allowlist; a person needs the
    /// member or admin role.
    /// </summary>
    public const string ModelApi = "gateway:model-api";

    /// <summary>The gateway's own admin routes: an admin key, as on TokenService's admin API, or the admin role.</summary>
    public const string Admin = "gateway:admin";

    private static readonly CallerRefusal AdminKey = CallerRefusal.Forbidden("Admin keys cannot call the model API; use an API key or token.");

    private static readonly CallerRefusal ViewerDenied =
        CallerRefusal.Forbidden("The viewer role can read usage but cannot call the model API; it needs the member or admin role.");

    private static readonly CallerRefusal RouteDenied = CallerRefusal.Forbidden("This credential is not allowed to call this route.");

    private static readonly CallerRefusal AdminOnly = CallerRefusal.Forbidden("This route needs an admin key.");

    private static readonly CallerRefusal AdminRoleOnly = CallerRefusal.Forbidden("This route needs an admin key or the admin role.");

    public static IServiceCollection AddCallerPolicies(this IServiceCollection services) => services
        .AddCallerPolicy(ModelApi, policy => policy.RequireAssertion(static context => Allows(context, RefusalOfModelApi)))
        .AddCallerPolicy(Admin, policy => policy.RequireAssertion(static context => Allows(context, RefusalOfAdmin)));

    private static bool Allows(AuthorizationHandlerContext context, Func<HttpContext, CredentialProjection, CallerRefusal?> refusalOf)
    {
        if (context.Resource is not HttpContext http || http.Features.Get<CredentialProjection>() is not { } credential)
        {
            return false;
        }

        if (refusalOf(http, credential) is { } refusal)
        {
            http.Features.Set(refusal);
            return false;
        }

        return true;
    }

    private static CallerRefusal? RefusalOfModelApi(HttpContext context, CredentialProjection credential)
    {
        if (context.Features.Get<JwtCaller>() is { } person)
        {
            return person.HasRole(IdentityRoles.Member) ? null : ViewerDenied;
        }

        if (credential.Kind == CredentialKind.AdminKey)
        {
            return AdminKey;
        }

        return IsRouteAllowed(credential.Routes, context.Request.Path.Value ?? "/") ? null : RouteDenied;
    }

    private static CallerRefusal? RefusalOfAdmin(HttpContext context, CredentialProjection credential) =>
        context.Features.Get<JwtCaller>() is { } person
            ? person.HasRole(IdentityRoles.Admin) ? null : AdminRoleOnly
            : credential.Kind == CredentialKind.AdminKey ? null : AdminOnly;

    private static bool IsRouteAllowed(IReadOnlyList<string> routes, string path)
    {
        if (routes.Count == 1 && routes[0] == "*")
        {
            return true;
        }

        // Paths compare without a trailing slash, so "/v1/messages/" cannot slip past an exact "/v1/messages" rule
        // by looking different while meaning the same to the upstream.
        return ModelPatterns.IsAllowed(routes, path.Length > 1 ? path.TrimEnd('/') : path);
    }
}
