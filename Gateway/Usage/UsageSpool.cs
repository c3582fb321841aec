using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// Durable local queue of usage entries for while Redis is unavailable: append-only segment files, one JSON object
/// per line, fsynced per append. Segments are replayed oldest first and a segment is deleted only once Redis has
/// acknowledged every entry in it. After a crash mid-replay the unacknowledged part of one segment may be sent
/// again; the UsageWorker deduplicates by request id.
/// </summary>
/// <remarks>
/// Each process locks a numbered slot below the spool root (<c>0</c>, <c>1</c>, …) so replicas on one host never
/// share files, and a restarted instance takes the first free slot and replays whatever was left there.
/// Thread-safe: the background writer and late emitters during shutdown may append concurrently.
/// </remarks>
internal sealed partial class UsageSpool : IDisposable
{
    private const string SegmentPrefix = "usage-";
    private const string SegmentSuffix = ".ndjson";
    private const int MaxSlots = 256;

    private readonly Lock _sync = new();
    private readonly int _segmentEvents;
    private readonly ILogger<UsageSpool> _logger;
    private readonly FileStream _slotLock;
    private readonly SortedDictionary<long, string> _segments = new();
    private FileStream? _current;
    private long _currentSequence;
    private int _currentEvents;
    private long _nextSequence;

    // Entries of the oldest segment already acknowledged during this process's lifetime.
    private int _oldestAcknowledged;

    public UsageSpool(IOptions<UsageOptions> options, IHostEnvironment environment, ILogger<UsageSpool> logger)
        : this(options.Value.SpoolDirectory is { Length: > 0 } configured
                ? Path.GetFullPath(configured, environment.ContentRootPath)
                : Path.Combine(environment.ContentRootPath, ".state", "usage-spool"),
            options.Value.SpoolSegmentEvents, logger)
    {
    }

    internal UsageSpool(string root, int segmentEvents, ILogger<UsageSpool> logger)
    {
        _segmentEvents = segmentEvents;
        _logger = logger;
        (Directory, _slotLock) = AcquireSlot(root);
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, SegmentPrefix + "*" + SegmentSuffix))
        {
            var name = Path.GetFileName(file);
            if (long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length),
                    NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                _segments[sequence] = file;
                _nextSequence = Math.Max(_nextSequence, sequence + 1);
            }
        }

        if (_segments.Count > 0)
        {
            LogFoundLeftovers(_logger, _segments.Count, Directory);
        }
    }

    /// <summary>The slot directory this process owns.</summary>
    public string Directory { get; }

    public bool HasPending
    {
        get
        {
            lock (_sync)
            {
                return _segments.Count > 0;
            }
        }
    }

    /// <summary>Appends entries in order and flushes them to disk before returning.</summary>
    public void Append(IReadOnlyList<string[]> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(entries.Count * 512);
        lock (_sync)
        {
            var index = 0;
            while (index < entries.Count)
            {
                if (_current is null || _currentEvents >= _segmentEvents)
                {
                    OpenNewSegment();
                }

                buffer.ResetWrittenCount();
                var take = Math.Min(entries.Count - index, _segmentEvents - _currentEvents);
                for (var i = 0; i < take; i++)
                {
                    WriteLine(buffer, entries[index + i]);
                }

                _current!.Write(buffer.WrittenSpan);
                _current.Flush(flushToDisk: true);
                _currentEvents += take;
                index += take;
            }
        }
    }

    /// <summary>
    /// The unacknowledged entries of the oldest segment, or false when the spool is empty. The segment being written
    /// is closed first, so new appends go to a fresh segment behind it.
    /// </summary>
    public bool TryPeekOldest(out SpoolSegment segment)
    {
        lock (_sync)
        {
            segment = default;
            if (_segments.Count == 0)
            {
                return false;
            }

            var (sequence, path) = _segments.First();
            if (sequence == _currentSequence && _current is not null)
            {
                CloseCurrent();
            }

            var entries = ReadSegment(path);
            if (_oldestAcknowledged > 0)
            {
                entries.RemoveRange(0, Math.Min(_oldestAcknowledged, entries.Count));
            }

            segment = new SpoolSegment(sequence, entries);
            return true;
        }
    }

    /// <summary>Records that the first <paramref name="count"/> entries returned for the segment reached Redis.</summary>
    public void Acknowledge(SpoolSegment segment, int count)
    {
        lock (_sync)
        {
            if (!_segments.TryGetValue(segment.Sequence, out var path))
            {
                return;
            }

            if (count >= segment.Entries.Count)
            {
                File.Delete(path);
                _segments.Remove(segment.Sequence);
                _oldestAcknowledged = 0;
            }
            else
            {
                _oldestAcknowledged += count;
            }
        }
    }

    private void OpenNewSegment()
    {
        CloseCurrent();
        _currentSequence = _nextSequence++;
        var path = Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{SegmentPrefix}{_currentSequence:D12}{SegmentSuffix}"));
        _current = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
        _currentEvents = 0;
        _segments[_currentSequence] = path;
    }

    private void CloseCurrent()
    {
        _current?.Dispose();
        _current = null;
        _currentEvents = 0;
    }

    private static void WriteLine(ArrayBufferWriter<byte> buffer, string[] fields)
    {
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                writer.WriteString(fields[i], fields[i + 1]);
            }

            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
    }

    private List<string[]> ReadSegment(string path)
    {
        var entries = new List<string[]>();
        var bytes = File.ReadAllBytes(path);
        var rest = bytes.AsSpan();
        while (!rest.IsEmpty)
        {
            var newline = rest.IndexOf((byte)'\n');
            if (newline < 0)
            {
                // A torn final line (the process died mid-write): that entry was never acknowledged to anyone.
                LogTornLine(_logger, path);
                break;
            }

            var line = rest[..newline];
            rest = rest[(newline + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            try
            {
                entries.Add(ParseLine(line));
            }
            catch (JsonException ex)
            {
                LogUnreadableLine(_logger, path, ex.Message);
            }
        }

        return entries;
    }

    private static string[] ParseLine(ReadOnlySpan<byte> line)
    {
        var fields = new List<string>(44);
        var reader = new Utf8JsonReader(line);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A spool line must be a JSON object.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            fields.Add(reader.GetString()!);
            reader.Read();
            fields.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException("Spool values are strings."));
        }

        return fields.ToArray();
    }

    private static (string Directory, FileStream Lock) AcquireSlot(string root)
    {
        for (var slot = 0; slot < MaxSlots; slot++)
        {
            var directory = Path.Combine(root, slot.ToString(CultureInfo.InvariantCulture));
            System.IO.Directory.CreateDirectory(directory);
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix; it is released when the process dies.
                var lockFile = new FileStream(Path.Combine(directory, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return (directory, lockFile);
            }
            catch (IOException)
            {
                // Another running instance owns this slot.
            }
        }

        throw new InvalidOperationException($"All {MaxSlots} usage spool slots under '{root}' are locked by other processes.");
    }

    public void Dispose()
    {
        lock (_sync)
        {
            CloseCurrent();
            _slotLock.Dispose();
        }
    }

    [LoggerMessage(1301, LogLevel.Warning, "Usage spool holds {Segments} segment(s) from an earlier run in {Directory}; they will be replayed")]
    private static partial void LogFoundLeftovers(ILogger logger, int segments, string directory);

    [LoggerMessage(1302, LogLevel.Error, "Usage spool segment {Path} ends in a torn line; that entry is skipped")]
    private static partial void LogTornLine(ILogger logger, string path);

    [LoggerMessage(1303, LogLevel.Error, "Usage spool segment {Path} has an unreadable line ({Reason}); skipped")]
    private static partial void LogUnreadableLine(ILogger logger, string path, string reason);
}

/// <summary>Unacknowledged entries of one spool segment, oldest first.</summary>
internal readonly record struct SpoolSegment(long Sequence, List<string[]> Entries);
