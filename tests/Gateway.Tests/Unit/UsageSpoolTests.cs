using LlmGateway.Gateway.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmGateway.Gateway.Tests.Unit;

public sealed class UsageSpoolTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gw-spool-test-").FullName;

    private UsageSpool Open(int segmentEvents = 3) => new(_root, segmentEvents, NullLogger<UsageSpool>.Instance);

    private static string[] Entry(int n) => ["request_id", "req_" + n, "model", "claude \"quoted\" \n newline ✓"];

    [Fact]
    public void Entries_come_back_in_order_segment_by_segment_and_acknowledged_segments_are_deleted()
    {
        using var spool = Open();
        spool.Append([Entry(1), Entry(2)]);
        spool.Append([Entry(3), Entry(4), Entry(5)]);
        Assert.True(spool.HasPending);

        var seen = new List<string>();
        while (spool.TryPeekOldest(out var segment))
        {
            seen.AddRange(segment.Entries.Select(e => e[1]));
            Assert.Equal("claude \"quoted\" \n newline ✓", segment.Entries[0][3]);
            spool.Acknowledge(segment, segment.Entries.Count);
        }

        Assert.Equal(["req_1", "req_2", "req_3", "req_4", "req_5"], seen);
        Assert.False(spool.HasPending);
        Assert.Empty(Directory.GetFiles(spool.Directory, "*.ndjson"));
    }

    [Fact]
    public void A_partly_acknowledged_segment_is_resumed_after_the_acknowledged_entries()
    {
        using var spool = Open(segmentEvents: 10);
        spool.Append([Entry(1), Entry(2), Entry(3)]);
        Assert.True(spool.TryPeekOldest(out var segment));
        spool.Acknowledge(segment, 2);

        Assert.True(spool.TryPeekOldest(out var rest));
        Assert.Equal(["req_3"], rest.Entries.Select(e => e[1]));
        spool.Acknowledge(rest, 1);
        Assert.False(spool.HasPending);
    }

    [Fact]
    public void Appends_after_a_peek_go_behind_the_peeked_segment()
    {
        using var spool = Open(segmentEvents: 10);
        spool.Append([Entry(1)]);
        Assert.True(spool.TryPeekOldest(out var first));
        spool.Append([Entry(2)]);
        spool.Acknowledge(first, 1);
        Assert.True(spool.TryPeekOldest(out var second));
        Assert.Equal(["req_2"], second.Entries.Select(e => e[1]));
    }

    [Fact]
    public void A_restarted_process_replays_what_was_left_and_a_torn_last_line_is_skipped()
    {
        string directory;
        using (var spool = Open(segmentEvents: 10))
        {
            spool.Append([Entry(1), Entry(2)]);
            directory = spool.Directory;
        }

        var file = Directory.GetFiles(directory, "*.ndjson").Single();
        File.AppendAllText(file, "{\"request_id\":\"req_tor");

        using var reopened = Open(segmentEvents: 10);
        Assert.Equal(directory, reopened.Directory);
        Assert.True(reopened.TryPeekOldest(out var segment));
        Assert.Equal(["req_1", "req_2"], segment.Entries.Select(e => e[1]));
    }

    [Fact]
    public void Two_live_instances_never_share_a_slot()
    {
        using var first = Open();
        using var second = Open();
        Assert.NotEqual(first.Directory, second.Directory);
        first.Append([Entry(1)]);
        Assert.False(second.HasPending);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
