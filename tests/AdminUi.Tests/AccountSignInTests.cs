using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LlmGateway.AdminUi.Tests;

/// <summary>
/// People with accounts in the browser: a member signs in with email and password, sees only what the role includes,
/// generates a key of their own (shown once), uses it on the gateway and deletes it; a wrong password is refused.
/// </summary>
[Collection(AdminUiCollection.Name)]
public sealed class AccountSignInTests(AdminUiApp fixture)
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task A_member_signs_in_manages_their_own_keys_and_cannot_open_the_admin_pages()
    {
        using var gateway = new HttpClient { BaseAddress = fixture.Gateway };
        // The first account of a fresh install becomes an admin whatever its invite said: an administrator first.
        await RegisterAsync(gateway, $"owner-{Guid.NewGuid():N}@example.com", "admin");
        var email = $"person-{Guid.NewGuid():N}@example.com";
        await RegisterAsync(gateway, email, "member");
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");

        // A wrong password: one sentence, whatever was wrong.
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync("not the password at all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in with password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("email or password is not right");

        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in with password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
        await Expect(page.Locator(".session-who")).ToContainTextAsync(email);
        await Expect(page.Locator(".session-who")).ToContainTextAsync("(member)");

        // The overview and usage are the organization's, read with the person's own token.
        await page.GotoAsync("/usage");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Usage and spend" })).ToBeVisibleAsync();
        await Expect(page.Locator(".message.error")).ToHaveCountAsync(0);

        // The navigation offers what a member may use; an admin page says so instead of failing.
        var nav = page.GetByRole(AriaRole.Navigation, new() { Name = "Main" });
        await Expect(nav.GetByRole(AriaRole.Link, new() { Name = "My keys" })).ToBeVisibleAsync();
        await Expect(nav.GetByRole(AriaRole.Link, new() { Name = "Audit log" })).ToHaveCountAsync(0);
        await page.GotoAsync("/audit");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No access to this page" })).ToBeVisibleAsync();

        // A key of their own: shown once, works on the gateway, gone after a reload, refused once deleted.
        await page.GotoAsync("/account/keys");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate key" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your new key" })).ToBeVisibleAsync();
        var secret = await page.Locator("#new-secret").InputValueAsync();
        Assert.StartsWith("lgw_", secret, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(AdminUiApp.ScreenshotDirectory, "account-keys.png"), FullPage = true });
        using (var reply = await CallModelAsync(gateway, secret))
        {
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        }

        await page.ReloadAsync();
        Assert.Equal(0, await page.Locator("#new-secret").CountAsync());
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "laptop" })).ToBeVisibleAsync();

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Delete ") }).ClickAsync();
        await Expect(page.Locator(".message.success")).ToContainTextAsync("Key deleted");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var reply = await CallModelAsync(gateway, secret);
            if (reply.StatusCode == HttpStatusCode.Unauthorized)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the deleted key still answers {reply.StatusCode}");
            await Task.Delay(200);
        }

        Assert.True(fixture.BrowserProblems.IsEmpty, "In the browser: " + string.Join("\n", fixture.BrowserProblems));
    }

    [Fact]
    public async Task An_administrator_changes_a_role_and_disables_an_account_which_ends_its_keys()
    {
        using var gateway = new HttpClient { BaseAddress = fixture.Gateway };
        var email = $"someone-{Guid.NewGuid():N}@example.com";
        await RegisterAsync(gateway, email, "viewer");
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await page.GetByLabel("Admin key").FillAsync(fixture.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await page.GotoAsync("/users");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Users and roles" })).ToBeVisibleAsync();
        await page.GetByLabel($"Role of {email}").SelectOptionAsync("member");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Set role of {email}" }).ClickAsync();
        await Expect(page.Locator(".message.success")).ToContainTextAsync($"{email} is now member");
        await page.ScreenshotAsync(new() { Path = Path.Combine(AdminUiApp.ScreenshotDirectory, "users.png"), FullPage = true });

        // As a member now, the person gets a key; disabling the account revokes it on the gateway.
        using var login = await gateway.PostAsJsonAsync("/api/auth/login", new { email, password = Password });
        var token = (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("token").GetString();
        using var generate = new HttpRequestMessage(HttpMethod.Post, "/api/keys/generate") { Content = JsonContent.Create(new { name = "soon gone" }) };
        generate.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var generated = await gateway.SendAsync(generate);
        Assert.Equal(HttpStatusCode.Created, generated.StatusCode);
        var secret = (await generated.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("secret").GetString()!;
        using (var reply = await CallModelAsync(gateway, secret))
        {
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        }

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Disable {email}" }).ClickAsync();
        await Expect(page.Locator(".message.success")).ToContainTextAsync("1 of their credentials were revoked");
        using (var refused = await CallModelAsync(gateway, secret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var again = await gateway.PostAsJsonAsync("/api/auth/login", new { email, password = Password });
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
    }

    [Fact]
    public async Task Single_sign_on_with_the_external_issuer_signs_an_administrator_in_whose_token_the_apis_accept()
    {
        var subject = "sso-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Issuer.NextSignIn = (subject, "admin", subject + "@idp.example", "llm-gateway");
        var exchanged = fixture.Issuer.CodesExchanged;
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync("/audit");
        await page.GetByRole(AriaRole.Link, new() { Name = "Continue with Test IdP" }).ClickAsync();

        // Back from the issuer, signed in where the person wanted to go; the admin API answered with their token.
        await Expect(page).ToHaveURLAsync(new Regex("/audit$"));
        await Expect(page.Locator(".session-who")).ToContainTextAsync(subject + "@idp.example");
        await Expect(page.Locator(".session-who")).ToContainTextAsync("(admin)");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync();
        await Expect(page.Locator(".message.error")).ToHaveCountAsync(0);
        Assert.Equal(exchanged + 1, fixture.Issuer.CodesExchanged);
        await page.ScreenshotAsync(new() { Path = Path.Combine(AdminUiApp.ScreenshotDirectory, "sso-signed-in.png"), FullPage = true });

        // A viewer from the same issuer is kept out of the admin pages.
        fixture.Issuer.NextSignIn = ("viewer-" + subject, "viewer", "viewer-" + subject + "@idp.example", "llm-gateway");
        await using var viewerContext = await fixture.NewContextAsync();
        var viewerPage = await viewerContext.NewPageAsync();
        await viewerPage.GotoAsync("/signin");
        await viewerPage.GetByRole(AriaRole.Link, new() { Name = "Continue with Test IdP" }).ClickAsync();
        await Expect(viewerPage.Locator(".session-who")).ToContainTextAsync("(viewer)");
        await viewerPage.GotoAsync("/keys");
        await Expect(viewerPage.GetByRole(AriaRole.Heading, new() { Name = "No access to this page" })).ToBeVisibleAsync();
        Assert.True(fixture.BrowserProblems.IsEmpty, "In the browser: " + string.Join("\n", fixture.BrowserProblems));
    }

    /// <summary>An account of <paramref name="role"/>, through an invite the admin key creates (the way an operator adds people).</summary>
    private async Task RegisterAsync(HttpClient gateway, string email, string role)
    {
        using var invite = new HttpRequestMessage(HttpMethod.Post, "/admin/invites") { Content = JsonContent.Create(new { email, role }) };
        invite.Headers.Add("x-api-key", fixture.AdminKey);
        using var invited = await gateway.SendAsync(invite);
        Assert.True(invited.IsSuccessStatusCode, await invited.Content.ReadAsStringAsync());
        var code = (await invited.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString();

        using var registered = await gateway.PostAsJsonAsync("/api/auth/register", new { email, password = Password, invite_code = code });
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> CallModelAsync(HttpClient gateway, string key)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/messages");
        message.Headers.Add("x-api-key", key);
        message.Headers.Add("anthropic-version", "2023-06-01");
        message.Content = JsonContent.Create(new { model = "claude-sonnet-4-5", max_tokens = 16, messages = new[] { new { role = "user", content = "hello" } } });
        return await gateway.SendAsync(message);
    }
}
