using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>Seed 003 on the gateway's one public address: a person registers, signs in, makes a key, uses it, deletes it.</summary>
[Collection(AppCollection.Name)]
public sealed class AccountKeysTests(AppFixture app)
{
    [Fact]
    public async Task A_registered_user_calls_messages_with_a_self_service_key_until_deleting_it()
    {
        using var http = app.Http();
        var email = $"seed003-{Guid.NewGuid():N}@example.com";
        var password = "pw-" + Guid.NewGuid().ToString("N");

        // Registration is invite-only unless the operator opens it: the admin makes an invite (through the gateway too).
        using var inviteRequest = new HttpRequestMessage(HttpMethod.Post, "/admin/invites") { Content = JsonContent.Create(new { email }) };
        inviteRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.App.GetParameter("admin-key"));
        using var invite = await http.SendAsync(inviteRequest);
        Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
        var code = (await invite.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();

        using var register = await http.PostAsJsonAsync("/api/auth/register", new { email, password, invite_code = code });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { email, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var signedIn = await login.Content.ReadFromJsonAsync<JsonElement>();
        var token = signedIn.GetProperty("token").GetString()!;

        using var generate = new HttpRequestMessage(HttpMethod.Post, "/api/keys/generate") { Content = JsonContent.Create(new { name = "seed 003" }) };
        generate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var generated = await http.SendAsync(generate);
        Assert.Equal(HttpStatusCode.Created, generated.StatusCode);
        var key = await generated.Content.ReadFromJsonAsync<JsonElement>();
        var secret = key.GetProperty("secret").GetString()!;
        var keyId = key.GetProperty("id").GetString()!;

        using (var allowed = await http.SendAsync(Messages(secret)))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        // The sign-in token itself is a credential for the model API (the gateway validates it against TokenService's
        // published keys): the call is the person's, attributed to their account.
        var userIdFromLogin = signedIn.GetProperty("user").GetProperty("id").GetString()!;
        using (var asPerson = Messages(token))
        {
            asPerson.Headers.Remove("x-api-key");
            asPerson.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var answered = await http.SendAsync(asPerson);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            var usage = await UsageStream.WaitForAsync(app.Redis, answered.Headers.GetValues("request-id").Single());
            Assert.Equal(("user", "user", userIdFromLogin), (usage["credential_kind"], usage["owner_type"], usage["owner_id"]));
        }

        // The gateway's limits view shows the account among what bounds the key (all of the account's keys share it).
        var userId = (await register.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("id").GetString()!;
        using var limits = await app.AdminAsync(HttpMethod.Get, $"/admin/credentials/{keyId}/limits");
        Assert.Equal(HttpStatusCode.OK, limits.StatusCode);
        var enforced = (await limits.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("enforced").EnumerateArray();
        Assert.Contains(enforced, s => s.GetProperty("scope").GetString() == "ancestor" && s.GetProperty("id").GetString() == userId);

        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/keys/list");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var listed = await http.SendAsync(list);
        var listText = await listed.Content.ReadAsStringAsync();
        Assert.Contains(keyId, listText, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listText, StringComparison.Ordinal);

        using var delete = new HttpRequestMessage(HttpMethod.Delete, $"/api/keys/{keyId}");
        delete.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var deleted = await http.SendAsync(delete);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);

        // The revocation was broadcast before the delete answered: the gateway refuses the key at once.
        using var refused = await http.SendAsync(Messages(secret));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        // A known credential says why it is refused; an unknown one stays plain.
        Assert.Contains("has been revoked", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var unknown = await http.SendAsync(Messages(Contracts.Credentials.CredentialFormat.Generate(Contracts.Credentials.CredentialKind.ApiKey)));
        Assert.Contains("invalid x-api-key", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Disabling the account ends its sign-in token on the gateway at once (a broadcast, not the token's expiry);
        // enabling it again lets the token work again.
        async Task<HttpResponseMessage> AsPersonAsync()
        {
            using var request = Messages(token);
            request.Headers.Remove("x-api-key");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await http.SendAsync(request);
        }

        async Task SetDisabledAsync(bool disabled)
        {
            using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/admin/users/{userIdFromLogin}") { Content = JsonContent.Create(new { disabled }) };
            patch.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.App.GetParameter("admin-key"));
            using var patched = await http.SendAsync(patch);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        // The broadcast reaches the gateway just after the PATCH answers: allow it a moment (a sub-second event).
        async Task<string> WaitForStatusAsync(HttpStatusCode expected)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                using var reply = await AsPersonAsync();
                var body = await reply.Content.ReadAsStringAsync();
                if (reply.StatusCode == expected)
                {
                    return body;
                }

                Assert.True(DateTime.UtcNow < deadline, $"still {reply.StatusCode}: {body}");
                await Task.Delay(100);
            }
        }

        await SetDisabledAsync(true);
        Assert.Contains("disabled", await WaitForStatusAsync(HttpStatusCode.Unauthorized), StringComparison.Ordinal);
        await SetDisabledAsync(false);
        await WaitForStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_issuer_metadata_and_keys_are_served_on_the_public_address()
    {
        using var http = app.Http();
        var configuration = await http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");
        Assert.Equal("llmgateway", configuration.GetProperty("issuer").GetString());
        var jwks = await http.GetFromJsonAsync<JsonElement>(new Uri(configuration.GetProperty("jwks_uri").GetString()!).PathAndQuery);
        Assert.NotEmpty(jwks.GetProperty("keys").EnumerateArray());
    }

    private static HttpRequestMessage Messages(string secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }
}
