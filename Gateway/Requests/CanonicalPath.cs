namespace LlmGateway.Gateway.Requests;

/// <summary>
/// The only paths the gateway routes and forwards: <c>/</c>-separated segments of printable ASCII, no empty segment
/// (<c>//</c>) except a trailing slash, no <c>.</c> or <c>..</c> segment, and none of the characters that other
/// software reads differently (<c>\</c>, which System.Uri and some servers take for <c>/</c>; <c>;</c> parameters;
/// <c>?</c> and <c>#</c>, which can only be here decoded from <c>%3F</c>/<c>%23</c>; <c>%</c>, which Kestrel leaves
/// only in an encoded slash). Anything else is refused before routing, so no route is reached by a path that a
/// downstream service would resolve to a different one (such as <c>/admin/..\..\internal/introspect</c>).
/// </summary>
internal static class CanonicalPath
{
    /// <summary>Null when <paramref name="path"/> is canonical, else what is wrong with it (for the error message).</summary>
    public static string? Problem(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty || path[0] != '/')
        {
            return "it does not start with '/'";
        }

        var rest = path[1..];
        while (true)
        {
            var end = rest.IndexOf('/');
            var segment = end < 0 ? rest : rest[..end];
            if (segment.IsEmpty && end >= 0)
            {
                return "an empty segment ('//')";
            }

            if (segment is "." or "..")
            {
                return "a '.' or '..' segment";
            }

            foreach (var c in segment)
            {
                var problem = c switch
                {
                    < ' ' or '\u007f' => "a control character",
                    > '~' => "a non-ASCII character",
                    '\\' => "a backslash",
                    ';' => "a ';' parameter",
                    '?' or '#' => "an encoded '?' or '#'",
                    '%' => "an encoded '/' or '%'",
                    ' ' => "a space",
                    _ => null,
                };
                if (problem is not null)
                {
                    return problem;
                }
            }

            if (end < 0)
            {
                return null;
            }

            rest = rest[(end + 1)..];
        }
    }
}
