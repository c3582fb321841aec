using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmGateway.UpstreamSimulator.Recording;
using LlmGateway.UpstreamSimulator.Streaming;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmGateway.UpstreamSimulator.Apis;

/// <summary>
/// The test control plane under <c>/sim</c> (no authentication; the simulator is never on the production path):
/// <list type="bullet">
/// <item><c>GET /sim/requests/{key}</c>: what the simulator saw for the latest attempt with that tag, or for the
/// tagged attempt with that <c>request-id</c>; <c>?wait=received|finished&amp;timeoutMs=N</c> (tags only) first waits
/// (up to N ms, default 10000) for the request to arrive or to end;</item>
/// <item><c>GET /sim/requests/{key}/body</c>: the exact response bytes sent;</item>
/// <item><c>GET /sim/requests/{key}/request-body</c>: the request body as received;</item>
/// <item><c>POST /sim/gates/{id}/release?count=N</c>: lets a gated stream send N (default 1) more events.</item>
/// </list>
/// </summary>
internal static class SimulatorControlApi
{
    private const int DefaultWaitMs = 10_000;

    public static IEndpointRouteBuilder MapSimulatorControlApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/sim");
        group.MapGet("/requests/{key}", GetRequest);
        group.MapGet("/requests/{key}/body", GetResponseBody);
        group.MapGet("/requests/{key}/request-body", GetRequestBody);
        group.MapPost("/gates/{id}/release", ReleaseGate);
        return routes;
    }

    private static async Task<Results<ContentHttpResult, BadRequest<string>>> GetRequest(
        string key, string? wait, int? timeoutMs, SimulatorState state, CancellationToken cancellationToken)
    {
        if (wait is not (null or "received" or "finished"))
        {
            return TypedResults.BadRequest("wait must be 'received' or 'finished'");
        }

        if (timeoutMs is < 0)
        {
            return TypedResults.BadRequest("timeoutMs must be >= 0");
        }

        TaggedRequest? entry;
        RequestAttempt? attempt;
        if (wait is null)
        {
            attempt = Resolve(key, state, out entry);
        }
        else
        {
            entry = state.Requests.GetOrAdd(key);
            var timeout = TimeSpan.FromMilliseconds(Math.Min(timeoutMs ?? DefaultWaitMs, state.Options.MaxControlWaitMs));
            var deadline = Task.Delay(timeout, cancellationToken);
            if (await Task.WhenAny(entry.Received, deadline) == entry.Received && wait == "finished")
            {
                await Task.WhenAny(entry.Latest!.Finished, deadline);
            }

            attempt = entry.Latest;
        }

        return Json(attempt is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("tag"u8, attempt?.Tag ?? key);
            writer.WriteBoolean("received"u8, attempt is not null);
            writer.WriteNumber("attempts"u8, entry?.Attempts ?? attempt?.Number ?? 0);
            attempt?.WriteTo(writer);
            writer.WriteEndObject();
        });
    }

    /// <summary>A tag resolves to its latest attempt; a request id to that very attempt.</summary>
    private static RequestAttempt? Resolve(string key, SimulatorState state, out TaggedRequest? entry)
    {
        if (state.Requests.TryGet(key, out entry))
        {
            return entry.Latest;
        }

        return state.Requests.TryGetAttempt(key, out var attempt) ? attempt : null;
    }

    private static Results<FileContentHttpResult, NotFound> GetResponseBody(string key, SimulatorState state) =>
        Resolve(key, state, out _) is { } attempt
            ? TypedResults.File(attempt.ResponseBody(), "application/octet-stream")
            : TypedResults.NotFound();

    private static Results<FileContentHttpResult, NotFound> GetRequestBody(string key, SimulatorState state) =>
        Resolve(key, state, out _) is { } attempt
            ? TypedResults.File(attempt.RequestBody(), "application/octet-stream")
            : TypedResults.NotFound();

    private static Results<ContentHttpResult, BadRequest<string>> ReleaseGate(string id, int? count, SimulatorState state)
    {
        if (count is < 1 or > 1_000_000)
        {
            return TypedResults.BadRequest("count must be between 1 and 1000000");
        }

        var released = state.Gates.Release(id, count ?? 1);
        return Json(StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("gate"u8, id);
            writer.WriteNumber("released"u8, released);
            writer.WriteEndObject();
        });
    }

    private static ContentHttpResult Json(int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            write(writer);
        }

        return TypedResults.Text(Encoding.UTF8.GetString(buffer.WrittenSpan), "application/json", Encoding.UTF8, status);
    }
}
