using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Testing;
using Xunit.Abstractions;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>
/// The standing guard: well over a thousand generated bad requests (bad JSON, wrong types, bad UTF-8, huge and many
/// headers, broken framing, traversal paths, bad credentials, bad query values) across every public route of the
/// whole app, sent byte for byte. None may get a 5xx or no answer at all, and every error must carry a body in the
/// route's error shape with a well-formed request id. (Not covered, because no application code runs for them:
/// requests Kestrel itself refuses before any middleware — a malformed request line, a <c>%00</c> in the path, a bad
/// HTTP version, a URL or headers beyond its backstop limits — which it answers with a bare status and no body.)
/// </summary>
[Collection(ReplicatedAppCollection.Name)]
public sealed class MalformedInputGuardTests(ReplicatedAppFixture app, ITestOutputHelper output)
{
    private static readonly (string Method, string Path)[] Routes =
    [
        ("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"), ("POST", "/v1/complete"),
        ("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/v1/models/claude-sonnet-4-5"),
        ("POST", "/v1/messages/batches"), ("GET", "/v1/files"), ("POST", "/v1/skills"),
        ("POST", "/v1/tokens"), ("POST", "/bootstrap"), ("POST", "/refresh"),
        ("GET", "/admin/credentials"), ("POST", "/admin/credentials"), ("PATCH", "/admin/credentials/cred_x"),
        ("POST", "/admin/credentials/cred_x/revoke"), ("GET", "/admin/credentials/cred_x/limits"), ("GET", "/admin/audit"),
        ("GET", "/admin/devices"), ("GET", "/admin/usage"), ("GET", "/admin/usage/export"), ("GET", "/admin/stats"),
    ];

    private static readonly string[] Bodies =
    [
        "{\"model\":", "not json", "[]", "null", "\"text\"", "{}", "{\"model\":5,\"max_tokens\":\"x\",\"messages\":{}}",
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":-1,\"messages\":[]}",
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1e400,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"claude-sonnet-4-5\",\"model\":\"claude-opus-4-1\",\"max_tokens\":1,\"messages\":[]}",
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1,\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"name\":7,\"owner\":[],\"ttl\":\"forever\",\"limits\":{\"requests_per_minute\":-5}}",
        "{\"ttl\":\"99999999d\",\"agent_name\":\"\\u0000\"}", "{\"refresh_token\":{}}", "{\"device_id\":\"" + new string('d', 5000) + "\"}",
        new string('[', 5000) + new string(']', 5000), "{\"a\":" + new string('1', 400) + "}",
    ];

    private static readonly string[] Queries =
    [
        "?window=999999d", "?credential_id=%00", "?limit=-1", "?limit=abc", "?after_id=%FF%FE", "?from=99999999999999999999",
        "?group_by=nothing", "?format=xml", "?top=0", "?granularity=year", "?model=a%0Ab", "?beta=%E0%80%80", "?x=" + new string('q', 9000),
    ];

    private static readonly string[] TraversalPaths =
    [
        "/admin/%2e%2e%5c%2e%2e%5cinternal%5cintrospect", "/admin/..%5cinternal%5creproject", "/v1//messages", "/v1/messages;x",
        "/v1/./messages", "/admin/credentials%2f..%2f..%2finternal", "/v1/messages%01", "/admin/%C3%A9", "/internal/introspect",
        "/v1/models/%2e%2e", "/" + new string('a', 20_000), "/admin/usage/nope", "/v1/nothing/here",
    ];

    [Fact]
    public async Task A_thousand_malformed_requests_get_no_5xx_no_reset_and_always_an_error_body_in_the_route_shape()
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials",
            new { name = "guard", owner = new { type = "organization", id = "org_guard" } }, HttpStatusCode.Created);
        var key = created.RootElement.GetProperty("secret").GetString()!;
        var admin = app.App.GetParameter("admin-key")!;
        var credentials = new (string Name, string Value)[][]
        {
            [("x-api-key", key)], [("Authorization", "Bearer " + admin)], [], [("x-api-key", "lgw_key_" + new string('z', 40))],
            [("x-api-key", "not a key at all")], [("Authorization", "Bearer " + key), ("x-api-key", admin)],
            [("Authorization", "Basic dXNlcjpwYXNz")], [("x-api-key", new string('k', 9000))], [("Authorization", "Bearer a.b.c")],
        };

        var cases = new List<(string Label, byte[] Request)>();
        var random = new Random(20261205);
        var server = app.Gateway(0);

        // Bodies × routes × credentials, with and without a JSON content type.
        foreach (var (method, path) in Routes)
        {
            foreach (var body in Bodies)
            {
                var auth = credentials[random.Next(credentials.Length)];
                var type = random.Next(5) == 0 ? "text/plain" : "application/json";
                cases.Add(($"{method} {path} body {Clip(body)}", Request(server, method, path, Encoding.UTF8.GetBytes(body), [.. auth, ("content-type", type)])));
            }

            // Invalid UTF-8 inside the JSON.
            byte[] badUtf8 = [.. "{\"model\":\"claude-"u8.ToArray(), 0xC3, 0x28, 0xFF, .. "\",\"max_tokens\":1,\"messages\":[]}"u8.ToArray()];
            cases.Add(($"{method} {path} invalid utf-8", Request(server, method, path, badUtf8, [("x-api-key", key), ("content-type", "application/json")])));

            foreach (var query in Queries)
            {
                cases.Add(($"{method} {path}{Clip(query)}", Request(server, method, path + query, method == "GET" ? null : "{}"u8.ToArray(),
                    [("Authorization", "Bearer " + admin), ("content-type", "application/json")])));
            }

            foreach (var auth in credentials)
            {
                cases.Add(($"{method} {path} auth {auth.Length}", Request(server, method, path, method == "GET" ? null : "{}"u8.ToArray(), [.. auth, ("content-type", "application/json")])));
            }

            // Many headers, one huge header, and a broken chunked body.
            var many = Enumerable.Range(0, 300).Select(i => ($"x-extra-{i}", "v")).ToArray();
            cases.Add(($"{method} {path} 300 headers", Request(server, method, path, null, [.. many, ("x-api-key", key)])));
            cases.Add(($"{method} {path} 100 KB header", Request(server, method, path, null, [("x-big", new string('h', 100_000)), ("x-api-key", key)])));
            cases.Add(($"{method} {path} broken chunk", Encoding.ASCII.GetBytes(
                $"{method} {path} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\nx-api-key: {key}\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n")));
        }

        foreach (var path in TraversalPaths)
        {
            foreach (var method in new[] { "GET", "POST", "DELETE" })
            {
                cases.Add(($"{method} {Clip(path)}", Request(server, method, path, method == "POST" ? "{}"u8.ToArray() : null,
                    [("Authorization", "Bearer " + admin), ("content-type", "application/json")])));
            }
        }

        Assert.True(cases.Count >= 1000, $"only {cases.Count} cases");
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (test, _) =>
        {
            var (status, body) = await RawHttp.SendBytesAsync(server, test.Request);
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (Problem(status, body) is { } problem)
            {
                failures.Enqueue($"{test.Label}: {problem} ({status} {(body.Length <= 300 ? body : body[..300])})");
            }
        });

        output.WriteLine($"{cases.Count} requests: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} failed:\n" + string.Join('\n', failures.Take(40)));
    }

    private static string? Problem(int status, string body)
    {
        if (status == 0)
        {
            return "no answer (connection closed or reset)";
        }

        if (status >= 500)
        {
            return "a 5xx";
        }

        if (status < 400)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
                || error.GetProperty("message").ValueKind != JsonValueKind.String || error.GetProperty("type").ValueKind != JsonValueKind.String)
            {
                return "the error body has no error.type and error.message";
            }

            // Anthropic's shape carries a request id (the gateway's, or the upstream's in an error relayed untouched);
            // OpenAI's (chat completions) has no place for it in the body.
            if (root.TryGetProperty("type", out var type) && type.GetString() == "error"
                && !(root.TryGetProperty("request_id", out var id) && id.GetString() is { } text && text.StartsWith("req_", StringComparison.Ordinal)))
            {
                return "the error body has no request_id";
            }

            return null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "the error body is not the JSON error shape";
        }
    }

    private static byte[] Request(Uri server, string method, string target, byte[]? body, (string Name, string Value)[] headers)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(body?.Length ?? 0).Append("\r\n\r\n");
        return [.. Encoding.Latin1.GetBytes(head.ToString()), .. body ?? []];
    }

    private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
