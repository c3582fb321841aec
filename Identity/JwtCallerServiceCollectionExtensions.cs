using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace LlmGateway.Identity;

public static class JwtCallerServiceCollectionExtensions
{
    /// <summary>The client that reads issuers' metadata and JWKS (service discovery resolves <c>http://tokenservice</c>).</summary>
    public const string BackchannelClientName = "identity-metadata";

    private static readonly string[] AsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    /// <summary>
    /// JWT callers: <see cref="IdentityOptions"/> (validated at start-up), one JwtBearer scheme <c>jwt:{name}</c> per
    /// configured issuer, and <see cref="JwtCallerValidator"/>, which the services' caller scheme lookups call.
    /// </summary>
    /// <remarks>
    /// No scheme is made the default (ASP.NET Core still makes a lone scheme the default by itself; a host that
    /// authenticates by hand can stop that with <see cref="SuppressAutoDefaultScheme"/>). Each scheme only takes a JWT whose
    /// <c>iss</c> is its own (from <c>Authorization: Bearer</c> or <c>x-api-key</c>) and ignores everything else at the cost
    /// of a shape check, so the services' own credentials (<c>lgw_…</c>) keep their paths untouched. A caller it validated
    /// is left in <c>HttpContext.Features</c> as a <see cref="JwtCaller"/>, so a hand call later does not validate again. The metadata backchannel is a named client of
    /// <see cref="IHttpClientFactory"/>; ServiceDefaults gives every client service discovery and the standard resilience
    /// handler, so <c>http://tokenservice/.well-known/openid-configuration</c> resolves under Aspire.
    /// </remarks>
    public static IServiceCollection AddJwtCallers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityOptions>, IdentityOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(BackchannelClientName);
        services.TryAddSingleton<JwtCallerValidator>();

        var names = configuration.GetSection(IdentityOptions.SectionName + ":Issuers").GetChildren().Select(c => c.Key).ToArray();
        var authentication = services.AddAuthentication();
        foreach (var name in names)
        {
            var scheme = JwtCallerValidator.SchemeName(name);
            authentication.AddJwtBearer(scheme, _ => { });
            services.AddOptions<JwtBearerOptions>(scheme)
                .Configure<IOptions<IdentityOptions>, IHttpClientFactory>((bearer, identity, clients) =>
                    Configure(bearer, name, identity.Value.Issuers[name], clients));
        }

        return services;
    }

    /// <summary>
    /// Stops ASP.NET Core from making a lone authentication scheme the default (its <c>SuppressAutoDefaultScheme</c>
    /// switch; <c>AuthenticationOptions.DisableAutoDefaultScheme</c> is not public in 10.0). For a host that authenticates
    /// by hand on its hot path: the authentication middleware it gets automatically then runs no scheme per request.
    /// </summary>
    public static void SuppressAutoDefaultScheme() =>
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);

    private static void Configure(JwtBearerOptions bearer, string name, JwtIssuerOptions issuer, IHttpClientFactory clients)
    {
        bearer.Authority = issuer.Authority;
        bearer.MetadataAddress = issuer.MetadataAddress!;
        bearer.Audience = issuer.Audience;
        bearer.RequireHttpsMetadata = issuer.RequireHttpsMetadata;
        bearer.MapInboundClaims = false;
        bearer.RefreshOnIssuerKeyNotFound = true;
        bearer.RefreshInterval = issuer.RefreshInterval;
        bearer.AutomaticRefreshInterval = issuer.AutomaticRefreshInterval;
        bearer.Backchannel = clients.CreateClient(BackchannelClientName);

        var parameters = bearer.TokenValidationParameters;
        parameters.ValidIssuer = issuer.ExpectedIssuer;
        parameters.ValidAudience = issuer.Audience;
        parameters.ValidAlgorithms = AsymmetricAlgorithms;
        parameters.NameClaimType = issuer.UserClaim;
        parameters.RoleClaimType = issuer.RoleClaim;
        parameters.ClockSkew = issuer.ClockSkew;
        parameters.RequireExpirationTime = true;
        parameters.RequireSignedTokens = true;

        if (issuer.Authority is null && issuer.MetadataAddress is null && issuer.JwksUrl is { } jwks)
        {
            // JwtBearer builds its ConfigurationManager only from OpenID metadata; a JWKS-only issuer gets one here,
            // with the same refresh rules, so rotation works alike.
            bearer.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                jwks, new JwksConfigurationRetriever(issuer.ExpectedIssuer), new HttpDocumentRetriever(bearer.Backchannel) { RequireHttps = issuer.RequireHttpsMetadata })
            {
                AutomaticRefreshInterval = issuer.AutomaticRefreshInterval,
                RefreshInterval = issuer.RefreshInterval,
            };
        }

        bearer.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                var token = TokenOf(context.Request);
                var validator = context.HttpContext.RequestServices.GetRequiredService<JwtCallerValidator>();
                if (token is null || !JwtShape.IsJwt(token) || validator.IssuerNameOf(token) != name)
                {
                    context.NoResult();
                }
                else
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                // The same role rules as the hand-called validator (default role, allowed roles).
                if (context.Principal?.Identity is ClaimsIdentity identity)
                {
                    var outcome = JwtCallerValidator.ToCaller(name, issuer, identity, context.SecurityToken.ValidTo);
                    if (outcome.Caller is { } caller)
                    {
                        context.HttpContext.Features.Set(caller);
                    }
                    else
                    {
                        context.Fail(outcome.Message);
                    }
                }

                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The JWT a request carries, by the shared header rule (<see cref="CallerCredentialHeaders"/>); null for anything else.</summary>
    public static string? TokenOf(Microsoft.AspNetCore.Http.HttpRequest request) =>
        CallerCredentialHeaders.Read(request.Headers, out ReadOnlySpan<char> credential) == CallerCredentialPresence.Present && JwtShape.IsJwt(credential)
            ? credential.ToString()
            : null;
}
