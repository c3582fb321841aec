using LlmGateway.Testing;
using Microsoft.Playwright;

namespace LlmGateway.AdminUi.Tests;

/// <summary>
/// The whole app (real Redis, PostgreSQL, TokenService, UsageWorker, gateway, simulator and admin UI) started once
/// for the test class, and one headless Chromium (the Debian package) to drive the UI.
/// </summary>
public sealed class AdminUiApp : IAsyncLifetime
{
    public TestApp App { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;

    /// <summary>The single sign-on issuer (authorization code flow, JWKS).</summary>
    public TestJwtIssuer Issuer { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string AdminKey { get; private set; } = "";
    public Uri AdminUi { get; private set; } = null!;
    public Uri Gateway { get; private set; } = null!;

    /// <summary>Where the tests save a screenshot of every page they visit (an artefact of the test run).</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        // An external OIDC issuer for single sign-on: the admin UI signs people in there, and every service accepts
        // the access tokens it issues (Identity:Issuers:sso).
        Issuer = await TestJwtIssuer.StartAsync();
        var app = TestAppBuilder.Create()
            .WithConfiguration("Identity:Issuers:sso:MetadataAddress", Issuer.MetadataAddress)
            .WithConfiguration("Identity:Issuers:sso:Issuer", Issuer.Issuer)
            .WithConfiguration("Identity:Issuers:sso:Audience", "llm-gateway")
            .WithConfiguration("Identity:Issuers:sso:RequireHttpsMetadata", "false")
            .WithConfiguration("AdminUi:Oidc:Authority", Issuer.Issuer)
            .WithConfiguration("AdminUi:Oidc:ClientId", "admin-ui")
            .WithConfiguration("AdminUi:Oidc:DisplayName", "Test IdP")
            .WithConfiguration("AdminUi:Oidc:RequireHttpsMetadata", "false")
            .StartAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(Browsers.Chromium);
        App = await app;
        AdminKey = App.GetParameter("admin-key");
        AdminUi = App.GetEndpoint("adminui");
        Gateway = App.GetEndpoint("gateway");
    }

    /// <summary>What went wrong in the browser: failed requests of assets, script errors, CSP violations.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> BrowserProblems { get; } = new();

    public async Task<IBrowserContext> NewContextAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = AdminUi.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.RequestFailed += (_, request) => BrowserProblems.Enqueue($"request failed: {request.Url} {request.Failure}");
        context.Response += (_, response) =>
        {
            if (response.Request.ResourceType is not "document" && response.Status >= 400)
            {
                BrowserProblems.Enqueue($"{response.Status} for {response.Request.ResourceType} {response.Url}");
            }
        };
        context.Console += (_, message) =>
        {
            // A page answered 401/404 on purpose logs "Failed to load resource"; its assets are watched above.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                BrowserProblems.Enqueue("console: " + message.Text);
            }
        };
        return context;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        if (Issuer is not null)
        {
            await Issuer.DisposeAsync();
        }
    }
}

/// <summary>One whole app for every browser test class (starting it is most of their time).</summary>
[CollectionDefinition(Name)]
public sealed class AdminUiCollection : ICollectionFixture<AdminUiApp>
{
    public const string Name = "admin-ui";
}
