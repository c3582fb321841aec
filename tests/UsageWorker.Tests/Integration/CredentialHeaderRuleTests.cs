using System.Net;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>
/// One rule for where the caller's credential is (<c>LlmGateway.Identity.CallerCredentialHeaders</c>), on every service:
/// the same header combinations are accepted or refused alike by a Gateway route, a TokenService route and a UsageWorker
/// route, each called on its own address with the bootstrap admin key.
/// </summary>
[Collection(GatewayAppCollection.Name)]
public sealed class CredentialHeaderRuleTests(GatewayAppFixture fixture)
{
    private static readonly (string Service, string Path)[] Routes =
    [
        ("gateway", "/admin/circuit-breaker"),
        ("tokenservice", "/admin/credentials"),
        ("usageworker", "/admin/usage"),
    ];

    [Fact]
    public async Task The_same_credential_headers_are_accepted_or_refused_alike_by_the_Gateway_TokenService_and_the_UsageWorker()
    {
        var admin = fixture.App.GetParameter("admin-key");
        var other = CredentialFormat.Generate(CredentialKind.ApiKey);
        var cases = new (string Label, bool Accepted, (string Name, string Value)[] Headers)[]
        {
            ("x-api-key", true, [("x-api-key", admin)]),
            ("Authorization: Bearer", true, [("Authorization", "Bearer " + admin)]),
            ("lower-case bearer", true, [("Authorization", "bearer " + admin)]),
            ("both, same value (apiKeyHelper)", true, [("x-api-key", admin), ("Authorization", "Bearer " + admin)]),
            ("none", false, []),
            ("empty bearer", false, [("Authorization", "Bearer ")]),
            ("both, another credential as bearer", false, [("x-api-key", admin), ("Authorization", "Bearer " + other)]),
            ("both, another credential as x-api-key", false, [("x-api-key", other), ("Authorization", "Bearer " + admin)]),
            ("both, a provider key as x-api-key", false, [("x-api-key", "sk-ant-api03-not-ours"), ("Authorization", "Bearer " + admin)]),
            ("x-api-key with a Basic Authorization", false, [("x-api-key", admin), ("Authorization", "Basic dXNlcjpwYXNz")]),
            ("Basic only", false, [("Authorization", "Basic " + admin)]),
        };

        var outcomes = new List<string>();
        foreach (var (label, accepted, headers) in cases)
        {
            foreach (var (service, path) in Routes)
            {
                using var http = fixture.App.CreateHttpClient(service);
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                foreach (var (name, value) in headers)
                {
                    Assert.True(request.Headers.TryAddWithoutValidation(name, value));
                }

                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (accepted)
                {
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{label} on {service} {path}: {(int)response.StatusCode} {body}");
                }
                else
                {
                    Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{label} on {service} {path}: {(int)response.StatusCode} {body}");
                    using var error = JsonDocument.Parse(body);
                    Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
                    Assert.Equal("authentication_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
                }

                outcomes.Add($"{label}: {service} {(int)response.StatusCode}");
            }
        }

        // Both differing values are refused with the same words everywhere.
        foreach (var (service, path) in Routes)
        {
            using var http = fixture.App.CreateHttpClient(service);
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("x-api-key", admin);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + other);
            using var response = await http.SendAsync(request);
            Assert.Contains("x-api-key and Authorization carry different credentials; send one.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(cases.Length * Routes.Length, outcomes.Count);
    }
}
