using System.Net;
using System.Text.Json;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class ModelsListTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly string[] UpstreamModels =
        ["claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-haiku-3-5", "claude-haiku-3", "claude-sonnet-3-7"];

    private void ServeModelsInPagesOfTwo() => fixture.Upstream.Handler = context =>
    {
        // The upstream pages too: the gateway must read every page before filtering.
        var after = context.Request.Query["after_id"].ToString();
        var start = after.Length == 0 ? 0 : Array.IndexOf(UpstreamModels, after) + 1;
        var page = UpstreamModels.Skip(start).Take(2).ToArray();
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            data = page.Select(id => new { id, type = "model", display_name = id.ToUpperInvariant(), created_at = "2026-01-01T00:00:00Z" }),
            has_more = start + page.Length < UpstreamModels.Length,
            first_id = page.FirstOrDefault(),
            last_id = page.LastOrDefault(),
        }));
    };

    private async Task<(List<string> Ids, bool HasMore, string? FirstId, string? LastId)> ListAsync(string secret, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models" + query);
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        var ids = root.GetProperty("data").EnumerateArray().Select(m =>
        {
            Assert.Equal("model", m.GetProperty("type").GetString());
            Assert.Equal(m.GetProperty("id").GetString()!.ToUpperInvariant(), m.GetProperty("display_name").GetString());
            return m.GetProperty("id").GetString()!;
        }).ToList();
        return (ids, root.GetProperty("has_more").GetBoolean(), root.GetProperty("first_id").GetString(), root.GetProperty("last_id").GetString());
    }

    [Fact]
    public async Task The_list_is_filtered_to_the_allowlist_and_paged_like_anthropics()
    {
        ServeModelsInPagesOfTwo();
        var (secret, _) = await fixture.CreateCredentialAsync(models: ["claude-haiku-*", "claude-opus-4-6"]);

        var all = await ListAsync(secret);
        Assert.Equal(["claude-opus-4-6", "claude-haiku-4-5", "claude-haiku-3-5", "claude-haiku-3"], all.Ids);
        Assert.False(all.HasMore);
        Assert.Equal("claude-opus-4-6", all.FirstId);
        Assert.Equal("claude-haiku-3", all.LastId);

        var first = await ListAsync(secret, "?limit=2");
        Assert.Equal(["claude-opus-4-6", "claude-haiku-4-5"], first.Ids);
        Assert.True(first.HasMore);

        var second = await ListAsync(secret, "?limit=2&after_id=" + first.LastId);
        Assert.Equal(["claude-haiku-3-5", "claude-haiku-3"], second.Ids);
        Assert.False(second.HasMore);

        var back = await ListAsync(secret, "?limit=1&before_id=claude-haiku-3-5");
        Assert.Equal(["claude-haiku-4-5"], back.Ids);
        Assert.True(back.HasMore);
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=1001")]
    [InlineData("?limit=abc")]
    [InlineData("?after_id=a&before_id=b")]
    public async Task Bad_paging_parameters_are_400(string query)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models" + query);
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
