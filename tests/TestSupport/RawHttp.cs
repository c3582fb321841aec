using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace LlmGateway.Testing;

/// <summary>
/// HTTP/1.1 written byte for byte on a socket, for requests no HttpClient sends: a path as-is (curl's
/// <c>--path-as-is</c>), broken framing, bad bytes. Reads one response (status and body, chunked or not).
/// </summary>
public static class RawHttp
{
    public static Task<(int Status, string Body)> SendAsync(Uri server, string method, string rawTarget, params (string Name, string Value)[] headers) =>
        SendAsync(server, method, rawTarget, body: null, headers);

    public static Task<(int Status, string Body)> SendAsync(Uri server, string method, string rawTarget, byte[]? body, params (string Name, string Value)[] headers)
    {
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{method} {rawTarget} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body?.Length ?? 0}\r\n\r\n");
        return SendBytesAsync(server, [.. Encoding.Latin1.GetBytes(head.ToString()), .. body ?? []]);
    }

    /// <summary>Sends exactly <paramref name="request"/>, then half-closes the connection and reads the answer.</summary>
    public static async Task<(int Status, string Body)> SendBytesAsync(Uri server, byte[] request, bool halfClose = false)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        if (halfClose)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, n);
                if (Complete(received.ToArray()))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // A reset after the answer: what was read is the answer.
        }

        return Parse(received.ToArray());
    }

    /// <summary>Status 0 and an empty body when the server closed the connection without answering.</summary>
    public static (int Status, string Body) Parse(byte[] response)
    {
        var text = Encoding.UTF8.GetString(response);
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || headerEnd < 0)
        {
            return (0, text);
        }

        var status = int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture);
        var head = text[..headerEnd];
        var body = text[(headerEnd + 4)..];
        return (status, head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Dechunk(body) : body);
    }

    private static bool Complete(byte[] response)
    {
        var text = Encoding.UTF8.GetString(response);
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headerEnd < 0)
        {
            return false;
        }

        var head = text[..headerEnd];
        var body = text[(headerEnd + 4)..];
        var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (length is not null)
        {
            return Encoding.UTF8.GetByteCount(body) >= int.Parse(length["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture);
        }

        return head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) && body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0 || !int.TryParse(body.AsSpan(position, lineEnd - position), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size == 0)
            {
                break;
            }

            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            position = lineEnd + 2 + size + 2;
        }

        return result.ToString();
    }
}
