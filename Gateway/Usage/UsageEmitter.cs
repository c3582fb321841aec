using System.Threading.Channels;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// Hands usage records from the request path to the background <see cref="UsageDispatcher"/> through a bounded
/// queue. The request never waits for Redis; it waits only if the queue is full (back-pressure, never loss).
/// Once the dispatcher has shut down, records go straight to the on-disk spool.
/// </summary>
internal sealed class UsageEmitter(UsageSpool spool, IOptions<UsageOptions> options)
{
    private readonly Channel<UsageRecord> _channel = Channel.CreateBounded<UsageRecord>(
        new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });

    internal ChannelReader<UsageRecord> Reader => _channel.Reader;

    public ValueTask EmitAsync(UsageRecord record) =>
        _channel.Writer.TryWrite(record) ? ValueTask.CompletedTask : EmitSlowAsync(record);

    private async ValueTask EmitSlowAsync(UsageRecord record)
    {
        try
        {
            await _channel.Writer.WriteAsync(record);
        }
        catch (ChannelClosedException)
        {
            spool.Append([record.ToFields()]);
        }
    }

    /// <summary>No more records will be queued; later ones are spooled directly.</summary>
    internal void Complete() => _channel.Writer.TryComplete();
}
