using System.Net;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

/// <summary>Usage events are never lost: Redis outages go to the on-disk spool, and shutdown drains the queue.</summary>
public sealed class UsageDeliveryTests : IAsyncLifetime
{
    private const string MessageJson = """{"id":"msg_1","type":"message","model":"claude-x","usage":{"input_tokens":3,"output_tokens":4}}""";
    private readonly string _spool = Directory.CreateTempSubdirectory("gw-delivery-").FullName;
    private RedisServer _redis = null!;
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        _upstream = await FakeUpstream.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(MessageJson);
        });
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
        Directory.Delete(_spool, recursive: true);
    }

    private Task<InProcessGateway> StartGatewayAsync() => InProcessGateway.StartAsync(_redis, _upstream.BaseAddress,
        new Dictionary<string, string?> { ["Gateway:Usage:SpoolDirectory"] = _spool, ["Gateway:Usage:SpoolSegmentEvents"] = "4" });

    private static async Task<List<string>> SendAsync(InProcessGateway gateway, string secret, int count)
    {
        using var client = gateway.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var response = await client.SendAsync(GatewayFixture.Messages(secret, """{"model":"claude-x","max_tokens":4}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(response.Headers.GetValues("request-id").Single());
        }

        return ids;
    }

    private string[] SpoolFiles() => Directory.GetFiles(_spool, "*.ndjson", SearchOption.AllDirectories);

    [Fact]
    public async Task During_a_Redis_outage_events_are_spooled_then_replayed_in_order_exactly_once()
    {
        await using var gateway = await StartGatewayAsync();
        using var redis = _redis.Connect();
        var (secret, projection) = await TestCredentials.CreateAsync(redis);
        // The credential must stay cached through the outage (no TokenService here).
        await gateway.WaitForCredentialSubscriptionAsync();
        var warm = await SendAsync(gateway, secret, 1);
        await UsageStream.WaitForAsync(redis, warm[0]);

        await _redis.StopAsync();
        var during = await SendAsync(gateway, secret, 10);
        // The background writer gathers events for Gateway:Usage:FlushInterval before it writes (here: spools) them.
        var spooled = DateTime.UtcNow.AddSeconds(30);
        while (SpoolFiles().Length == 0)
        {
            Assert.True(DateTime.UtcNow < spooled, "events were not spooled while Redis was down");
            await Task.Delay(10);
        }

        await _redis.StartAsync();
        var events = await UsageStream.WaitForCountAsync(redis, projection.Id, 11);
        Assert.Equal(warm.Concat(during), events.Select(e => e["request_id"]));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (SpoolFiles().Length > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "acknowledged spool segments were not deleted");
            await Task.Delay(20);
        }

        // Back to writing directly.
        var after = await SendAsync(gateway, secret, 1);
        await UsageStream.WaitForAsync(redis, after[0]);
    }

    [Fact]
    public async Task Events_still_queued_at_shutdown_are_kept_and_delivered_by_the_next_instance()
    {
        using var redis = _redis.Connect();
        var (secret, projection) = await TestCredentials.CreateAsync(redis);
        List<string> ids;
        await using (var gateway = await StartGatewayAsync())
        {
            await gateway.WaitForCredentialSubscriptionAsync();
            ids = await SendAsync(gateway, secret, 1);
            await UsageStream.WaitForAsync(redis, ids[0]);
            await _redis.StopAsync();
            ids.AddRange(await SendAsync(gateway, secret, 6));
            await gateway.StopAsync();
        }

        Assert.NotEmpty(SpoolFiles());
        await _redis.StartAsync();
        await using var next = await StartGatewayAsync();
        var events = await UsageStream.WaitForCountAsync(redis, projection.Id, 7);
        Assert.Equal(ids, events.Select(e => e["request_id"]));
    }
}
