using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace LlmGateway.AdminUi.Tests;

/// <summary>
/// The admin UI in headless Chromium against the whole app: what an operator does in a browser, checked by what
/// the gateway then does. One app for the collection; each test signs in in a fresh browser context.
/// </summary>
[Collection(AdminUiCollection.Name)]
public sealed partial class AdminUiEndToEndTests(AdminUiApp fixture, ITestOutputHelper log)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Step(string what) => log.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0}s {what}");

    [Fact]
    public async Task Sign_in_refuses_a_wrong_key_accepts_the_admin_key_and_sign_out_ends_the_session()
    {
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();

        // Every page asks for a session first.
        await page.GotoAsync("/keys");
        await Expect(page).ToHaveURLAsync(new Regex("/signin\\?returnUrl=%2Fkeys$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();

        await page.GetByLabel("Admin key").FillAsync("lgw_adm_this-is-not-a-real-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Sign-in refused");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not accepted");
        await ShotAsync(page, "signin-refused");

        await SignInAsync(page);
        // Back where the person wanted to go.
        await Expect(page).ToHaveURLAsync(new Regex("/keys$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Keys and tokens" })).ToBeVisibleAsync();

        await page.GotoAsync("/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await Expect(page.Locator("body")).Not.ToContainTextAsync("Exception");
        await ShotAsync(page, "overview");

        // The session cookie is HttpOnly and the form posts carry an antiforgery token.
        var cookies = await context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == "lgw_admin_session" && c.HttpOnly);
        Assert.Equal(1, await page.Locator("form[action='/signout'] input[name='__RequestVerificationToken']").CountAsync());
        // A change posted without the token is refused.
        await using (var forged = await context.APIRequest.PostAsync("/keys/new", new() { Form = context.APIRequest.CreateFormData().Set("Scope.Name", "forged") }))
        {
            Assert.Equal(400, forged.Status);
        }

        AssertNoBrowserProblems();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await page.GotoAsync("/keys");
        await Expect(page).ToHaveURLAsync(new Regex("/signin"));
        Step("sign-in checks done");
    }

    [Fact]
    public async Task An_operator_creates_a_key_sees_its_usage_and_audit_and_revokes_it_and_the_gateway_honours_it()
    {
        await using var context = await fixture.NewContextAsync();
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await SignInAsync(page);
        Step("signed in");

        // Create an API key: the secret is shown once, with a copy button.
        var name = "e2e key " + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/keys/new");
        await ShotAsync(page, "key-new");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByLabel("Owner id").FillAsync("acme-e2e");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Copy the key now" })).ToBeVisibleAsync();
        var secret = await page.GetByLabel("New key").InputValueAsync();
        Assert.StartsWith("lgw_", secret, StringComparison.Ordinal);
        var keyId = Regex.Match(page.Url, "/keys/([^/?#]+)$").Groups[1].Value;
        Assert.NotEmpty(keyId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy key" }).ClickAsync();
        await Expect(page.Locator("[data-copy-status='new-secret']")).ToContainTextAsync("Copied", new() { Timeout = 3000 }).ContinueWith(t => t.IsFaulted
            ? throw new Xunit.Sdk.XunitException("copy status: " + string.Join("; ", fixture.BrowserProblems), t.Exception) : t);
        Assert.Equal(secret, await page.EvaluateAsync<string>("navigator.clipboard.readText()"));
        await ShotAsync(page, "key-created");

        // The key works against the gateway.
        using var gateway = new HttpClient { BaseAddress = fixture.Gateway };
        for (var i = 0; i < 3; i++)
        {
            using var reply = await CallModelAsync(gateway, secret);
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        }

        Step("key created and used");

        // A reload shows the key but never its secret again.
        await page.ReloadAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = name })).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator("#new-secret").CountAsync());
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        // The list filters by kind, owner and status.
        await page.GotoAsync("/keys?kind=api_key&owner_id=acme-e2e&status=active");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = name })).ToBeVisibleAsync();
        await ShotAsync(page, "keys");
        await page.GotoAsync("/keys?kind=agent_token&owner_id=acme-e2e");
        await Expect(page.GetByText("No keys match these filters.")).ToBeVisibleAsync();

        // Edit its limits: the detail page shows them as the gateway enforces them.
        await page.GotoAsync($"/keys/{keyId}/edit");
        await page.GetByLabel("Requests per minute").FillAsync("987");
        await ShotAsync(page, "key-edit");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("saved", new() { IgnoreCase = true });
        await Expect(page.Locator("#limits-title + *, section[aria-labelledby='limits-title']").First).ToContainTextAsync("987");
        await ShotAsync(page, "key-details");
        Step("filters and edit");

        // The usage page draws its charts from the rows the UsageWorker wrote for those calls.
        var usageUrl = $"/usage?credential_id={keyId}";
        await WaitUntilAsync(async () =>
        {
            await page.GotoAsync(usageUrl);
            return await page.Locator("#total-requests").TextContentAsync() == "3";
        }, "the usage page to count the key's 3 requests");
        Assert.True(await page.Locator("#chart-requests rect.bar").CountAsync() >= 1);
        var heights = await page.Locator("#chart-requests rect.bar").EvaluateAllAsync<double[]>("bars => bars.map(b => b.getBBox().height)");
        Assert.Contains(heights, h => h > 10);
        await Expect(page.Locator("#chart-requests svg text").First).ToBeAttachedAsync();
        await Expect(page.Locator("#chart-by-credential-table")).ToContainTextAsync(keyId);
        await Expect(page.Locator("#chart-by-credential-table")).ToContainTextAsync(name);
        await Expect(page.Locator("#chart-by-credential svg")).ToContainTextAsync(name);
        await Expect(page.Locator("#chart-by-model-table")).ToContainTextAsync("claude-sonnet-4-5");
        var chartTable = page.Locator("#chart-requests details");
        await chartTable.Locator("summary").ClickAsync();
        await Expect(chartTable.Locator("td.num", new() { HasText = "3" })).ToHaveCountAsync(1);
        await ShotAsync(page, "usage");

        // CSV export of the same report, and of every request.
        await using (var csv = await context.APIRequest.GetAsync($"/usage?handler=csv&credential_id={keyId}&group_by=credential"))
        {
            Assert.Equal(200, csv.Status);
            Assert.StartsWith("text/csv", csv.Headers["content-type"], StringComparison.Ordinal);
            var text = await csv.TextAsync();
            Assert.StartsWith("bucket_start,credential_id,requests", text, StringComparison.Ordinal);
            Assert.Contains(keyId, text, StringComparison.Ordinal);
        }

        await using (var events = await context.APIRequest.GetAsync($"/usage?handler=csv&what=events&credential_id={keyId}"))
        {
            Assert.Equal(200, events.Status);
            Assert.Equal(4, (await events.TextAsync()).Trim().Split('\n').Length); // header + 3 requests
        }

        Step("usage and csv");

        // Narrow its model allowlist: the gateway refuses another model from then on, and still serves the allowed one.
        await page.GotoAsync($"/keys/{keyId}/edit");
        await page.GetByLabel("Models").FillAsync("claude-sonnet-*");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.Locator("section[aria-labelledby='details-title']")).ToContainTextAsync("claude-sonnet-*");
        await WaitUntilAsync(async () =>
        {
            using var reply = await CallModelAsync(gateway, secret, "claude-opus-4-1");
            return reply.StatusCode == HttpStatusCode.Forbidden;
        }, "the gateway to refuse a model outside the new allowlist");
        using (var allowed = await CallModelAsync(gateway, secret))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        // An agent token minted from the key appears in its lineage, and in the list of agent tokens.
        var agentToken = await MintAgentTokenAsync(gateway, secret, "e2e-agent");
        await page.GotoAsync($"/keys/{keyId}");
        await Expect(page.Locator("section[aria-labelledby='lineage-title']")).ToContainTextAsync("e2e-agent");
        await page.GotoAsync("/keys?kind=agent_token&owner_id=acme-e2e");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "e2e-agent" })).ToBeVisibleAsync();

        // Revoke, with a confirmation page; the gateway refuses the key (and what was minted from it) from then on.
        await page.GotoAsync($"/keys/{keyId}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Revoke…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Revoke {name}?" })).ToBeVisibleAsync();
        await ShotAsync(page, "key-revoke");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1 active token(s) minted from it are revoked with it");
        await page.GetByLabel("Reason (optional, kept in the audit log)").FillAsync("e2e test");
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Revoke ") }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("revoked");
        await Expect(page.Locator("h1 .status")).ToHaveTextAsync("revoked");
        await WaitUntilAsync(async () =>
        {
            using var reply = await CallModelAsync(gateway, secret);
            return reply.StatusCode == HttpStatusCode.Unauthorized;
        }, "the gateway to refuse the revoked key");
        using (var minted = await CallModelAsync(gateway, agentToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, minted.StatusCode);
        }

        Step("revoked");

        // The audit log has both changes, found by target and by action.
        await page.GotoAsync($"/audit?target={keyId}");
        var audit = page.Locator("#audit-table");
        await Expect(audit).ToContainTextAsync("credential.create");
        await Expect(audit).ToContainTextAsync("credential.update");
        await Expect(audit).ToContainTextAsync("credential.revoke");
        await ShotAsync(page, "audit");
        var actor = await audit.Locator("tbody tr").First.Locator("td:nth-child(2) code").TextContentAsync();
        await page.GetByLabel("Action").FillAsync("credential.revoke");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("action=credential.revoke"));
        await Expect(audit.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(audit).ToContainTextAsync("e2e test");
        await page.GotoAsync($"/audit?target={keyId}&actor_id={actor}");
        await Expect(audit.Locator("tbody tr")).ToHaveCountAsync(4); // create, two updates, revoke
        await page.GotoAsync($"/audit?target={keyId}&actor_id=cred_someone_else");
        await Expect(page.GetByText("No audit entries match these filters.")).ToBeVisibleAsync();
        var future = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await page.GotoAsync($"/audit?target={keyId}&from={future}");
        await Expect(page.GetByText("No audit entries match these filters.")).ToBeVisibleAsync();
        Step("audit");

        // A key that is valid but not an admin key cannot sign in; a fresh one is created for that.
        await using var other = await fixture.NewContextAsync();
        var otherPage = await other.NewPageAsync();
        var apiKey = await CreateKeyThroughApiAsync(gateway);
        await otherPage.GotoAsync("/signin");
        await otherPage.GetByLabel("Admin key").FillAsync(apiKey);
        await otherPage.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(otherPage.GetByRole(AriaRole.Alert)).ToContainTextAsync("not an admin key");
        AssertNoBrowserProblems();
    }

    [Fact]
    public async Task A_session_whose_admin_key_is_revoked_ends_with_a_message()
    {
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await SignInAsync(page);

        // An admin creates a second admin key in the UI; another person signs in with it.
        await page.GotoAsync("/keys/new");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("second admin");
        await page.GetByLabel("Kind").SelectOptionAsync("admin_key");
        await page.GetByLabel("Owner id").FillAsync("ops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var adminKey = await page.GetByLabel("New key").InputValueAsync();
        var keyId = Regex.Match(page.Url, "/keys/([^/?#]+)$").Groups[1].Value;

        await using var second = await fixture.NewContextAsync();
        var secondPage = await second.NewPageAsync();
        await secondPage.GotoAsync("/signin");
        await secondPage.GetByLabel("Admin key").FillAsync(adminKey);
        await secondPage.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(secondPage.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        // The first admin revokes it: the second session's next page is the sign-in page, saying why.
        await page.GotoAsync($"/keys/{keyId}/revoke");
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Revoke ") }).ClickAsync();
        await Expect(page.Locator("h1 .status")).ToHaveTextAsync("revoked");
        await WaitUntilAsync(async () =>
        {
            await secondPage.GotoAsync("/keys");
            return secondPage.Url.Contains("/signin", StringComparison.Ordinal);
        }, "the revoked admin key's session to end");
        await Expect(secondPage.GetByRole(AriaRole.Status)).ToContainTextAsync("Your session ended");
        await ShotAsync(secondPage, "signin-session-ended");
    }

    [Fact]
    public async Task Upstreams_devices_and_errors_show_as_pages_and_the_ui_fits_a_phone()
    {
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await SignInAsync(page);

        await page.GotoAsync("/upstreams");
        await Expect(page.Locator("#upstream-name")).Not.ToHaveTextAsync("—");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Circuit breakers" })).ToBeVisibleAsync();
        // Either the gateway reports breakers (with a reset) or the page says it does not yet.
        var unavailable = await page.Locator("#breakers-unavailable").CountAsync();
        if (unavailable == 0)
        {
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Reset all circuit breakers" })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Reset all circuit breakers" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("reset");
        }
        else
        {
            await Expect(page.Locator("#breakers-unavailable")).ToContainTextAsync("404");
        }

        await ShotAsync(page, "upstreams");

        await page.GotoAsync("/devices");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Devices" })).ToBeVisibleAsync();
        await ShotAsync(page, "devices");

        // API errors are messages on the page, never a stack trace.
        var missing = await page.GotoAsync("/keys/cred_does_not_exist");
        Assert.Equal(404, missing!.Status);
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Not found");
        await Expect(page.Locator("body")).Not.ToContainTextAsync(new Regex(@"\bat [A-Z]\w*(\.\w+)+\(|Exception"));
        var nowhere = await page.GotoAsync("/no/such/page");
        Assert.Equal(404, nowhere!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Page not found" })).ToBeVisibleAsync();
        await ShotAsync(page, "not-found");

        // Everything ships with the app: no request leaves for another host.
        var foreign = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(fixture.AdminUi.ToString().TrimEnd('/'), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                foreign.Add(request.Url);
            }
        };
        await page.GotoAsync("/usage");
        await Expect(page.Locator("#chart-requests svg")).ToBeVisibleAsync();
        Assert.Empty(foreign);
        Assert.True(await page.EvaluateAsync<bool>("getComputedStyle(document.body).margin === '0px'"), "the stylesheet was not applied: " + string.Join("; ", fixture.BrowserProblems));

        // Labels on every field, a name on every button, headers on every table.
        foreach (var path in (string[])["/", "/keys", "/keys/new", "/usage", "/audit", "/upstreams", "/devices"])
        {
            await page.GotoAsync(path);
            var unlabelled = await page.EvaluateAsync<string[]>("""
                [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)
                .concat([...document.querySelectorAll('button')].filter(b => !b.textContent.trim() && !b.getAttribute('aria-label')).map(() => 'button'))
                .concat([...document.querySelectorAll('table')].filter(t => !t.querySelector('th')).map(() => 'table'))
                """);
            Assert.True(unlabelled.Length == 0, $"{path}: {string.Join(", ", unlabelled)}");
            var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 1, $"{path} is {overflow}px wider than a 1280px window");
        }

        // On a phone the pages fit the width: tables scroll inside their own box.
        await using var phone = await fixture.NewContextAsync(390, 844);
        var phonePage = await phone.NewPageAsync();
        await phonePage.GotoAsync("/signin");
        await SignInAsync(phonePage);
        foreach (var path in (string[])["/keys", "/usage", "/audit", "/upstreams"])
        {
            await phonePage.GotoAsync(path);
            var overflow = await phonePage.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 1, $"{path} is {overflow}px wider than a phone screen");
            await ShotAsync(phonePage, "phone" + path.Replace('/', '-'));
        }

        AssertNoBrowserProblems();
    }

    /// <summary>No asset failed to load, no script error, no content-security-policy violation in any page so far.</summary>
    private void AssertNoBrowserProblems() =>
        Assert.True(fixture.BrowserProblems.IsEmpty, "In the browser: " + string.Join("\n", fixture.BrowserProblems));

    private async Task SignInAsync(IPage page)
    {
        await page.GetByLabel("Admin key").FillAsync(fixture.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
    }

    private static async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(AdminUiApp.ScreenshotDirectory, name + ".png"), FullPage = true });

    private static async Task<HttpResponseMessage> CallModelAsync(HttpClient gateway, string key, string model = "claude-sonnet-4-5")
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/messages");
        message.Headers.Add("x-api-key", key);
        message.Headers.Add("anthropic-version", "2023-06-01");
        message.Content = JsonContent.Create(new { model, max_tokens = 16, messages = new[] { new { role = "user", content = "hello" } } });
        return await gateway.SendAsync(message);
    }

    private async Task<string> CreateKeyThroughApiAsync(HttpClient gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials");
        request.Headers.Add("x-api-key", fixture.AdminKey);
        request.Content = JsonContent.Create(new { name = "not an admin", owner = new { type = "user", id = "someone" } });
        using var reply = await gateway.SendAsync(request);
        reply.EnsureSuccessStatusCode();
        var body = await reply.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return body.GetProperty("secret").GetString()!;
    }

    private static async Task<string> MintAgentTokenAsync(HttpClient gateway, string key, string agent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens");
        request.Headers.Add("x-api-key", key);
        request.Content = JsonContent.Create(new { ttl = "1h", agent_name = agent });
        using var reply = await gateway.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        var body = await reply.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return body.GetProperty("token").GetString()!;
    }

    /// <summary>Waits for something that happens asynchronously (a usage row written, a revocation applied).</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited 30 s for {what}.");
            }

            await Task.Delay(250);
        }
    }
}
