using System.Net;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>A simulator configured without an expected key and with small limits.</summary>
public sealed class OpenConfigurationTests(OpenSimulatorFixture sim) : IClassFixture<OpenSimulatorFixture>
{
    private const string JsonRequest = """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"configured words"}]}""";

    [Fact]
    public async Task Any_non_empty_key_is_accepted_and_the_default_word_count_comes_from_configuration()
    {
        var request = sim.AnthropicPost("/v1/messages", JsonRequest, withKey: false);
        request.Headers.Add("x-api-key", "whatever-key");

        using var response = await sim.Http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Expected.Text("configured words", 5), body.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.False(response.Headers.Contains("anthropic-organization-id"));
    }

    [Fact]
    public async Task Empty_key_is_still_rejected()
    {
        var request = sim.AnthropicPost("/v1/messages", JsonRequest, withKey: false);
        request.Headers.TryAddWithoutValidation("x-api-key", "");

        using var response = await sim.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Body_over_the_limit_is_413_request_too_large()
    {
        var big = $$"""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"{{new string('x', 5000)}}"}]}""";

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", big));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", body.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Only_the_most_recent_tags_are_remembered()
    {
        var tags = Enumerable.Range(0, 3).Select(i => $"bounded-{Guid.NewGuid():N}-{i}").ToList();
        foreach (var tag in tags)
        {
            using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", JsonRequest, headers: ("x-sim-request-tag", tag)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var oldest = await sim.Http.GetAsync($"/sim/requests/{tags[0]}");
        using var newest = await sim.Http.GetAsync($"/sim/requests/{tags[2]}");

        Assert.Equal(HttpStatusCode.NotFound, oldest.StatusCode);
        Assert.Equal(HttpStatusCode.OK, newest.StatusCode);
    }
}
