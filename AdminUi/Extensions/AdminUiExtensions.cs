using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Options;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace LlmGateway.AdminUi.Extensions;

public static class AdminUiExtensions
{
    /// <summary>Everything the admin UI needs besides the service defaults: options, sessions, pages, API clients.</summary>
    public static WebApplicationBuilder AddAdminUi(this WebApplicationBuilder builder)
    {
        // The stylesheet and script (and their precompressed copies) are served from the build output's static web
        // assets manifest in every environment: Aspire runs the project with `dotnet run --no-launch-profile`, which
        // is Production without a publish folder. A published app has no manifest and serves its wwwroot.
        builder.WebHost.UseStaticWebAssets();
        var services = builder.Services;
        services.AddOptions<AdminUiOptions>().BindConfiguration(AdminUiOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminUiOptions>, AdminUiOptionsValidation>();

        // Sessions: the cookie holds the signed-in person's claims, their API credential among them, encrypted and
        // signed with the Data Protection key ring.
        var dataProtection = services.AddDataProtection().SetApplicationName("LlmGateway.AdminUi");
        if (builder.Configuration[$"{AdminUiOptions.Section}:{nameof(AdminUiOptions.DataProtectionKeysDirectory)}"] is { Length: > 0 } keys)
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        }

        var authentication = services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        var oidc = builder.Configuration.GetSection(OidcSignInOptions.Section).Get<OidcSignInOptions>() ?? new OidcSignInOptions();
        services.AddSingleton(oidc);
        if (oidc.Enabled)
        {
            authentication.AddOpenIdConnect(OidcSignIn.Scheme, options => OidcSignIn.Configure(options, oidc));
        }

        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<AdminUiOptions>>((cookie, ui) =>
            {
                cookie.Cookie.Name = "lgw_admin_session";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = ui.Value.SessionLifetime;
                cookie.SlidingExpiration = false;
                cookie.LoginPath = "/signin";
                cookie.LogoutPath = "/signout";
                cookie.AccessDeniedPath = "/denied";
                cookie.ReturnUrlParameter = "returnUrl";
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(SessionRoles.AdminPolicy, policy => policy.RequireRole(SessionRoles.Admin))
            .AddPolicy(SessionRoles.AccountPolicy, policy => policy.RequireClaim(SessionClaims.Method, PasswordSignIn.Method));
        services.AddAntiforgery(antiforgery => antiforgery.Cookie.Name = "lgw_admin_antiforgery");
        services.AddScoped<AdminKeySignIn>();
        services.AddScoped<PasswordSignIn>();

        services.AddRazorPages(pages =>
        {
            pages.Conventions.AllowAnonymousToPage("/SignIn");
            pages.Conventions.AllowAnonymousToPage("/SignInOidc");
            pages.Conventions.AllowAnonymousToPage("/Error");
            // Everyone's credentials, devices, upstreams and the audit log are the administrators'; usage and the
            // overview are every signed-in role's (the APIs scope a viewer's or member's view to their organization).
            pages.Conventions.AuthorizeFolder("/Keys", SessionRoles.AdminPolicy);
            pages.Conventions.AuthorizeFolder("/Devices", SessionRoles.AdminPolicy);
            pages.Conventions.AuthorizeFolder("/Upstreams", SessionRoles.AdminPolicy);
            pages.Conventions.AuthorizeFolder("/Audit", SessionRoles.AdminPolicy);
            pages.Conventions.AuthorizeFolder("/Users", SessionRoles.AdminPolicy);
            // A person's own keys: signed in with their account (an admin key is nobody's account).
            pages.Conventions.AuthorizeFolder("/Account", SessionRoles.AccountPolicy);
            // Pages show keys, limits and spend: never kept by a browser or a proxy.
            pages.Conventions.ConfigureFilter(new ResponseCacheAttribute { NoStore = true, Location = ResponseCacheLocation.None });
            pages.Conventions.ConfigureFilter(new SessionRejectedFilter());
        });

        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpContextAccessor();
        services.AddTransient<ApiCredentialHandler>();
        AddApiClient<TokenServiceClient>(services);
        AddApiClient<UsageClient>(services);
        AddApiClient<GatewayClient>(services);
        AddApiClient<AccountsClient>(services);
        return builder;
    }

    /// <summary>Error pages, security headers, sessions.</summary>
    public static WebApplication UseAdminUi(this WebApplication app)
    {
        // Never a stack trace or a blank page: failures and unknown addresses get the UI's own error page.
        app.UseExceptionHandler("/error");
        app.UseStatusCodePagesWithReExecute("/error", "?status={0}");
        app.Use(static (context, next) =>
        {
            var headers = context.Response.Headers;
            // Everything the UI needs ships with it (no CDN): only its own scripts, styles and forms.
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return next(context);
        });
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>The pages and their static files.</summary>
    public static WebApplication MapAdminUi(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorPages().WithStaticAssets();
        return app;
    }

    /// <summary>
    /// A typed client on the gateway's address that carries the session's credential. GETs are retried once on a
    /// transient failure; changes (POST, PATCH, DELETE) never, so a key is never created twice. One timeout bounds
    /// the whole call, so a page says the API did not answer instead of hanging.
    /// </summary>
    private static void AddApiClient<TClient>(IServiceCollection services) where TClient : class
    {
        var builder = services.AddHttpClient<TClient>()
            .ConfigureHttpClient(static (provider, http) => http.BaseAddress = provider.GetRequiredService<IOptions<AdminUiOptions>>().Value.GatewayUrl)
            .AddHttpMessageHandler<ApiCredentialHandler>()
            // Header values (the credential) never reach HttpClient's logs, whatever the log level.
            .RedactLoggedHeaders(static _ => true)
            .RemoveAllResilienceHandlers();
        builder.AddStandardResilienceHandler();
        services.AddOptions<HttpStandardResilienceOptions>(builder.Name + "-standard")
            .Configure<IOptions<AdminUiOptions>>(static (resilience, ui) =>
            {
                var timeout = ui.Value.ApiTimeout;
                resilience.TotalRequestTimeout.Timeout = timeout;
                resilience.AttemptTimeout.Timeout = timeout;
                resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, 2 * timeout.Ticks));
                resilience.Retry.MaxRetryAttempts = 1;
                resilience.Retry.Delay = TimeSpan.FromMilliseconds(200);
                resilience.Retry.DisableForUnsafeHttpMethods();
            });
    }
}
