using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Authentication;

/// <summary>Endpoint filter of the admin API: the caller must present an admin key, or a JWT whose role is admin.</summary>
public sealed class AdminAuthorizationFilter(CredentialAuthenticator authenticator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var result = await authenticator.AuthenticateAsync(http);
        if (!result.TryGet(out var credential, out var error))
        {
            return error;
        }

        if (result.Person is { } person)
        {
            if (!person.HasRole(IdentityRoles.Admin))
            {
                return Apis.ApiError.Permission($"The admin API needs an admin key or the admin role; {person.Hint} has the {person.Role} role.");
            }
        }
        else if (credential.Kind != CredentialKind.AdminKey)
        {
            return Apis.ApiError.Permission($"The admin API needs an admin key; {credential.Hint} is not one.");
        }

        http.Features.Set(new AdminCaller(credential, CallerCredential.Address(http)));
        return await next(context);
    }
}

/// <summary>The authenticated admin of the current request: the actor of every audit entry.</summary>
public sealed record AdminCaller(Credential Credential, string Address)
{
    public static AdminCaller Of(HttpContext context) => context.Features.Get<AdminCaller>() ?? throw new InvalidOperationException("The admin API's endpoint filter did not run.");
}
