using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>Pass-through routes cannot be used to get around a credential's model allowlist or its budget.</summary>
[Collection(AppCollection.Name)]
public sealed class PassthroughScopeTests(AppFixture app)
{
    [Fact]
    public async Task OpenAI_style_chat_completions_honour_the_model_allowlist()
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["claude-haiku-*"]);
        using var http = app.Http();

        using var denied = await http.SendAsync(Chat(secret, "claude-opus-4-5-20251101"));
        await AssertErrorAsync(denied, HttpStatusCode.Forbidden, "permission_error");

        using var twice = await http.SendAsync(Chat(secret, "claude-haiku-4-5", body: """{"model":"claude-haiku-4-5","model":"claude-opus-4-5-20251101","messages":[]}"""));
        await AssertErrorAsync(twice, HttpStatusCode.BadRequest, "invalid_request_error");

        // An allowed model passes the gateway's checks and reaches the upstream.
        var tag = "passthrough-" + Guid.NewGuid().ToString("N");
        using var allowedRequest = Chat(secret, "claude-haiku-4-5");
        allowedRequest.Headers.Add("x-sim-request-tag", tag);
        using var allowed = await http.SendAsync(allowedRequest);
        using var simulator = app.App.CreateHttpClient("upstream");
        var seen = await simulator.GetFromJsonAsync<JsonElement>($"/sim/requests/{tag}");
        Assert.True(seen.GetProperty("received").GetBoolean());
    }

    [Fact]
    public async Task A_budgeted_credential_cannot_spend_through_unmetered_routes()
    {
        using var admin = app.Http();
        using var create = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new
            {
                name = "budgeted",
                owner = new { type = "organization", id = "org_gw_budget_passthrough" },
                limits = new { budget_usd = 5, budget_period = "total" },
            }),
        };
        create.Headers.Add("x-api-key", app.App.GetParameter("admin-key"));
        using var created = await admin.SendAsync(create);
        var secret = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;

        using var http = app.Http();
        // Chat completions for a Claude model are translated and metered like /v1/messages, so they are allowed and
        // count against the budget; the routes below are still unmetered and refused.
        using var chat = await http.SendAsync(Chat(secret, "claude-haiku-4-5"));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        using var batch = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/batches")
        {
            Content = new StringContent(
                """{"requests":[{"custom_id":"a","params":{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}}]}""",
                Encoding.UTF8, "application/json"),
        };
        batch.Headers.Add("x-api-key", secret);
        batch.Headers.Add("anthropic-version", "2023-06-01");
        using var batchResponse = await http.SendAsync(batch);
        await AssertErrorAsync(batchResponse, HttpStatusCode.Forbidden, "permission_error");
    }

    private static HttpRequestMessage Chat(string secret, string model, string? body = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body ?? $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer " + secret);
        return request;
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode} {body}");
        Assert.Equal(type, JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
