using System.Net;
using System.Text.Json;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>People signed in with a JWT read usage: viewers and members their organization's, admins everything.</summary>
[Collection(UsageAppCollection.Name)]
public sealed class JwtUsageScopeTests(UsageAppFixture fixture)
{
    [Fact]
    public async Task A_viewer_sees_only_their_organizations_usage_and_an_admin_sees_everything()
    {
        var now = DateTimeOffset.UtcNow;
        await fixture.AddEventsAsync(
        [
            .. Enumerable.Range(0, 5).Select(i => new TestEvent($"jwtscope-a-{i}", now, $"jwtscope-cred-a{i % 2}", OrganizationId: "jwtscope-org-a").Fields()),
            .. Enumerable.Range(0, 7).Select(i => new TestEvent($"jwtscope-b-{i}", now, "jwtscope-cred-b", OrganizationId: "jwtscope-org-b").Fields()),
        ]);
        await fixture.WaitForStoredAsync("jwtscope-", 12);

        var viewer = fixture.Issuer.CreateToken("viewer-a", "viewer", organization: "jwtscope-org-a");
        var usage = await GetJsonAsync("/admin/usage?group_by=organization", viewer);
        Assert.Equal(5, usage.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.All(usage.GetProperty("data").EnumerateArray(), r => Assert.Equal("jwtscope-org-a", r.GetProperty("org_id").GetString()));

        // Asking for another organization narrows to nothing; it never widens the scope.
        var other = await GetJsonAsync("/admin/usage?org_id=jwtscope-org-b", viewer);
        Assert.Equal(0, other.GetProperty("totals").GetProperty("requests").GetInt64());

        var admin = fixture.Issuer.CreateToken("admin-x", "admin", organization: "somewhere-else");
        var all = await GetJsonAsync("/admin/usage?org_id=jwtscope-org-b", admin);
        Assert.Equal(7, all.GetProperty("totals").GetProperty("requests").GetInt64());

        using var expired = await SendAsync("/admin/usage", fixture.Issuer.CreateToken("viewer-a", "viewer", expires: now.AddMinutes(-5)));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> SendAsync(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return fixture.Worker().SendAsync(request);
    }

    private async Task<JsonElement> GetJsonAsync(string path, string token)
    {
        using var response = await SendAsync(path, token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
