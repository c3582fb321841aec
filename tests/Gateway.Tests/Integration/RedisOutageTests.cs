using System.Text.Json;
using Anthropic.Models.Messages;
using LlmGateway.Gateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Integration;

[Collection(AppCollection.Name)]
public sealed class RedisOutageTests(AppFixture app)
{
    [Fact]
    public async Task With_Redis_stopped_cached_credentials_keep_working_and_every_usage_event_arrives_once_Redis_is_back()
    {
        const int requests = 12;
        var (secret, projection) = await app.CreateCredentialAsync();
        var client = app.Sdk(secret);
        var ask = new MessageCreateParams { Model = "claude-haiku-4-5", MaxTokens = 16, Messages = [new UserMessageParam { Content = "ping" }] };

        // Warm the gateway's credential cache, then take Redis away.
        await client.Messages.Create(ask);
        await UsageStream.WaitForCountAsync(app.Redis, projection.Id, 1);
        await app.App.StopResourceAsync("redis");
        var stoppedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        try
        {
            for (var i = 0; i < requests; i++)
            {
                var message = await client.Messages.Create(ask);
                Assert.NotEmpty(message.Content);
            }
        }
        finally
        {
            await app.App.StartResourceAsync("redis");
        }

        // Replayed from the gateway's spool, exactly once each. (Whether the warm-up event survived the restart is
        // Redis's persistence, not the gateway's: only the requests made during the outage are counted.)
        var events = await UsageStream.WaitForCountAsync(app.Redis, projection.Id, requests,
            e => long.Parse(e["ts"], System.Globalization.CultureInfo.InvariantCulture) >= stoppedAtMs);
        Assert.Equal(requests, events.Select(e => e["request_id"]).Distinct().Count());

        // Once the spool is empty nothing more can arrive: still exactly N.
        using var http = app.Http();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var health = JsonDocument.Parse(await http.GetStringAsync("/health"));
            if (!health.RootElement.GetProperty("usageSpoolPending").GetBoolean())
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the usage spool did not drain");
            await Task.Delay(50);
        }

        await UsageStream.WaitForCountAsync(app.Redis, projection.Id, requests,
            e => long.Parse(e["ts"], System.Globalization.CultureInfo.InvariantCulture) >= stoppedAtMs);
        Assert.All(events, e => Assert.Equal("200", e["status"]));
    }
}
