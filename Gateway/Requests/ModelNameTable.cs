using System.Collections.Concurrent;
using System.Text.Json;

namespace LlmGateway.Gateway.Requests;

/// <summary>
/// Interns model names read from JSON so that the common case (a handful of model ids) allocates no string per
/// request. Bounded: once full, new names are still returned, just not remembered.
/// </summary>
internal sealed class ModelNameTable
{
    private const int MaxEntries = 1024;
    private const int MaxInternedLength = 128;

    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ModelNameTable() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The string value the reader is positioned on (a <see cref="JsonTokenType.String"/> token).</summary>
    public string Get(ref Utf8JsonReader reader)
    {
        var encodedLength = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (encodedLength > MaxInternedLength)
        {
            return reader.GetString()!;
        }

        // An unescaped string has at most as many chars as encoded bytes.
        Span<char> chars = stackalloc char[MaxInternedLength];
        var length = reader.CopyString(chars);
        return Get(chars[..length]);
    }

    public string Get(ReadOnlySpan<char> name)
    {
        if (_lookup.TryGetValue(name, out var existing))
        {
            return existing;
        }

        var created = new string(name);
        if (_names.Count < MaxEntries)
        {
            _names.TryAdd(created, created);
        }

        return created;
    }
}
