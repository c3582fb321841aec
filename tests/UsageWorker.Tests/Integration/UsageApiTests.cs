using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.UsageWorker.Tests.Integration;

[Collection(UsageAppCollection.Name)]
public sealed class UsageApiTests(UsageAppFixture fixture)
{
    private static readonly JsonSerializerOptions ProjectionJson = new()
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    [Fact]
    public async Task Usage_report_numbers_equal_the_sum_of_the_rows()
    {
        var now = DateTimeOffset.UtcNow;
        var models = new[] { "claude-sonnet-4-5-20250929", "claude-haiku-4-5" };
        // Spread over six hours and two credentials, with some errors and cache use.
        var events = Enumerable.Range(0, 240).Select(i => new TestEvent(
            $"report-{i}", now.AddMinutes(-(i / 2 % 6) * 60 - 5), $"report-cred-{i % 2}", models[i % 2],
            Input: 10 * i, Output: i, CacheWrite: i % 3 * 100, CacheRead: i % 4 * 1000, Status: i % 8 == 0 ? 529 : 200)).ToList();
        await fixture.AddEventsAsync(events.Select(e => e.Fields()));
        await fixture.WaitForStoredAsync("report-", events.Count);

        foreach (var granularity in new[] { "hour", "day" })
        {
            var report = await GetJsonAsync($"/admin/usage?credential_id=report-cred-0&group_by=model&granularity={granularity}&from={Uri.EscapeDataString(now.AddHours(-7).ToString("O"))}");
            var rows = report.GetProperty("data").EnumerateArray().ToList();
            var totals = report.GetProperty("totals");

            var sums = await SumsAsync("credential_id = 'report-cred-0'");
            Assert.Equal(sums.Requests, totals.GetProperty("requests").GetInt64());
            Assert.Equal(sums.Errors, totals.GetProperty("errors").GetInt64());
            Assert.Equal(sums.Input, totals.GetProperty("input_tokens").GetInt64());
            Assert.Equal(sums.Output, totals.GetProperty("output_tokens").GetInt64());
            Assert.Equal(sums.CacheWrite, totals.GetProperty("cache_creation_input_tokens").GetInt64());
            Assert.Equal(sums.CacheRead, totals.GetProperty("cache_read_input_tokens").GetInt64());
            Assert.Equal(sums.Cost, totals.GetProperty("cost_nano_usd").GetInt64());
            Assert.Equal(sums.Cost / 1_000_000_000m, totals.GetProperty("cost_usd").GetDecimal());
            Assert.Equal(sums.Requests, rows.Sum(r => r.GetProperty("requests").GetInt64()));
            Assert.All(rows, r => Assert.Equal("claude-sonnet-4-5-20250929", r.GetProperty("model").GetString()));
            Assert.Equal(granularity == "hour" ? 6 : (now.AddMinutes(-305).UtcDateTime.Date == now.UtcDateTime.Date ? 1 : 2), rows.Count);
        }

        // Grouped by credential over both: one group per credential, each equal to its rows.
        var byCredential = await GetJsonAsync("/admin/usage?group_by=credential&granularity=day&from=" + Uri.EscapeDataString(now.AddDays(-2).ToString("O")));
        foreach (var credential in new[] { "report-cred-0", "report-cred-1" })
        {
            var sums = await SumsAsync($"credential_id = '{credential}'");
            var rows = byCredential.GetProperty("data").EnumerateArray().Where(r => r.GetProperty("credential_id").GetString() == credential).ToList();
            Assert.Equal(sums.Requests, rows.Sum(r => r.GetProperty("requests").GetInt64()));
            Assert.Equal(sums.Cost, rows.Sum(r => r.GetProperty("cost_nano_usd").GetInt64()));
        }
    }

    [Fact]
    public async Task Stats_give_totals_error_rate_percentiles_and_top_lists()
    {
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(1, 100).Select(i => new TestEvent(
            $"stats-{i}", now.AddSeconds(-i), "stats-cred", i % 4 == 0 ? "claude-haiku-4-5" : "claude-sonnet-4-5-20250929",
            Status: i % 5 == 0 ? 500 : 200, LatencyMs: i * 10, TtfbMs: i)).ToList();
        await fixture.AddEventsAsync(events.Select(e => e.Fields()));
        await fixture.WaitForStoredAsync("stats-", 100);

        var stats = await GetJsonAsync("/admin/stats?credential_id=stats-cred&window=10m&top=2");
        var totals = stats.GetProperty("totals");
        Assert.Equal(100, totals.GetProperty("requests").GetInt64());
        Assert.Equal(20, totals.GetProperty("errors").GetInt64());
        Assert.Equal(0.2, stats.GetProperty("error_rate").GetDouble(), 6);
        Assert.Equal(events.Sum(e => e.ExpectedCostNanoUsd()), totals.GetProperty("cost_nano_usd").GetInt64());
        Assert.Equal(500, stats.GetProperty("latency_ms").GetProperty("p50").GetInt32());
        Assert.Equal(950, stats.GetProperty("latency_ms").GetProperty("p95").GetInt32());
        Assert.Equal(50, stats.GetProperty("time_to_first_byte_ms").GetProperty("p50").GetInt32());
        var topModels = stats.GetProperty("top_models").EnumerateArray().ToList();
        Assert.Equal(["claude-sonnet-4-5-20250929", "claude-haiku-4-5"], topModels.Select(m => m.GetProperty("model").GetString()));
        Assert.Equal([75L, 25L], topModels.Select(m => m.GetProperty("requests").GetInt64()));
        Assert.Equal("stats-cred", stats.GetProperty("top_credentials")[0].GetProperty("credential_id").GetString());
        Assert.Equal(100 / 600.0, stats.GetProperty("requests_per_second").GetDouble(), 6);
    }

    [Fact]
    public async Task Export_lists_every_request_of_the_range_as_csv()
    {
        var now = DateTimeOffset.UtcNow;
        await fixture.AddEventsAsync(Enumerable.Range(0, 50).Select(i => new TestEvent($"export-{i}", now.AddSeconds(-i), "export-cred", AgentName: i == 0 ? "=cmd|calc" : "agent, with comma").Fields()));
        await fixture.WaitForStoredAsync("export-", 50);

        using var response = await Send("/admin/usage/export?credential_id=export-cred&from=" + Uri.EscapeDataString(now.AddMinutes(-5).ToString("O")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("attachment; filename=\"usage-events-", response.Content.Headers.ContentDisposition?.ToString(), StringComparison.Ordinal);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("request_id,ts,credential_id,", lines[0], StringComparison.Ordinal);
        Assert.Equal(51, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("export-0,", StringComparison.Ordinal) && l.Contains(",'=cmd|calc,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("export-1,", StringComparison.Ordinal) && l.Contains(",\"agent, with comma\",", StringComparison.Ordinal));

        using var grouped = await Send("/admin/usage?format=csv&group_by=agent&credential_id=export-cred");
        var rows = (await grouped.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("bucket_start,agent_name,requests,errors,input_tokens,output_tokens,cache_creation_input_tokens,cache_read_input_tokens,cost_nano_usd,cost_usd", rows[0]);
        Assert.Equal(50, rows.Skip(1).Sum(r => long.Parse(r.Split(',')[^8], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Callers_without_a_valid_credential_get_anthropic_shaped_401s()
    {
        using var anonymous = await fixture.Worker().GetAsync("/admin/usage");
        await AssertErrorAsync(anonymous, HttpStatusCode.Unauthorized, "authentication_error", "No credential");

        using var oversized = await Send("/admin/stats", new string('k', 600));
        await AssertErrorAsync(oversized, HttpStatusCode.Unauthorized, "authentication_error", "Invalid credential.");

        // Well-formed but unknown: not in Redis, and TokenService (asked through discovery) does not know it either.
        var unknownKey = CredentialFormat.Generate(CredentialKind.AdminKey);
        using var unknown = await Send("/admin/stats", unknownKey);
        await AssertErrorAsync(unknown, HttpStatusCode.Unauthorized, "authentication_error", "");

        // Not in Redis and TokenService cannot be asked: unknown is not the same as invalid.
        await fixture.App.StopResourceAsync("tokenservice");
        try
        {
            using var unverifiable = await Send("/admin/stats", unknownKey);
            await AssertErrorAsync(unverifiable, HttpStatusCode.ServiceUnavailable, "api_error", "cannot be verified right now");
        }
        finally
        {
            await fixture.App.StartResourceAsync("tokenservice");
        }

        // The bootstrap key works as a bearer token as well.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/stats");
        request.Headers.Authorization = new("Bearer", UsageAppFixture.AdminKey);
        using var bearer = await fixture.Worker().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
    }

    [Theory]
    [InlineData("/admin/usage?granularity=minute", "granularity 'minute' is not supported")]
    [InlineData("/admin/usage?from=not-a-date", "from 'not-a-date' is not a time")]
    [InlineData("/admin/usage?group_by=planet", "group_by 'planet' is not a dimension")]
    [InlineData("/admin/usage?credential=x", "Unknown query parameter 'credential'")]
    [InlineData("/admin/stats?window=-5m", "window '-5m' is not a duration")]
    [InlineData("/admin/stats?top=1000", "top '1000' is not an integer between 1 and 100.")]
    [InlineData("/admin/usage/export?from=2001-01-01", "The range is longer than 366 days")]
    public async Task Bad_query_parameters_are_400s_that_say_what_is_wrong(string path, string message)
    {
        using var response = await Send(path);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", message);
    }

    [Fact]
    public async Task A_device_token_sees_the_usage_of_its_own_device_only()
    {
        var now = DateTimeOffset.UtcNow;
        var token = CredentialFormat.Generate(CredentialKind.DeviceToken);
        await ProjectAsync(token, new CredentialProjection
        {
            Id = "devscope-cred-new",
            Kind = CredentialKind.DeviceToken,
            Hint = CredentialFormat.Redact(token),
            Owner = new CredentialOwner { Type = "device", Id = "devscope-owner" },
            DeviceId = "devscope-device-1",
        });
        // Device 1 used two credentials (before and after a refresh); device 2 is someone else.
        await fixture.AddEventsAsync(
        [
            .. Enumerable.Range(0, 6).Select(i => new TestEvent($"devscope-a-{i}", now, "devscope-cred-old", DeviceId: "devscope-device-1").Fields()),
            .. Enumerable.Range(0, 4).Select(i => new TestEvent($"devscope-b-{i}", now, "devscope-cred-new", DeviceId: "devscope-device-1").Fields()),
            .. Enumerable.Range(0, 9).Select(i => new TestEvent($"devscope-c-{i}", now, "devscope-cred-other", DeviceId: "devscope-device-2").Fields()),
        ]);
        await fixture.WaitForStoredAsync("devscope-", 19);

        var usage = await GetJsonAsync("/admin/usage?group_by=device", token);
        Assert.Equal(10, usage.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.All(usage.GetProperty("data").EnumerateArray(), r => Assert.Equal("devscope-device-1", r.GetProperty("device_id").GetString()));

        var stats = await GetJsonAsync("/admin/stats", token);
        Assert.Equal(10, stats.GetProperty("totals").GetProperty("requests").GetInt64());

        // Asking for another device's usage narrows to nothing; it never widens the scope.
        var other = await GetJsonAsync("/admin/usage?device_id=devscope-device-2", token);
        Assert.Equal(0, other.GetProperty("totals").GetProperty("requests").GetInt64());

        using var export = await Send("/admin/usage/export", token);
        var lines = (await export.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(11, lines.Length);
    }

    [Fact]
    public async Task An_admin_key_projected_by_TokenService_sees_everything()
    {
        var adminKey = CredentialFormat.Generate(CredentialKind.AdminKey);
        await ProjectAsync(adminKey, new CredentialProjection
        {
            Id = "adm_1",
            Kind = CredentialKind.AdminKey,
            Hint = CredentialFormat.Redact(adminKey),
            Owner = new CredentialOwner { Type = "user", Id = "ops" },
        });
        var viaProjection = await GetJsonAsync("/admin/usage?granularity=day", adminKey);
        var viaBootstrap = await GetJsonAsync("/admin/usage?granularity=day");
        Assert.Equal(viaBootstrap.GetProperty("totals").GetProperty("requests").GetInt64(), viaProjection.GetProperty("totals").GetProperty("requests").GetInt64());

        // An expired projection is refused.
        var expired = CredentialFormat.Generate(CredentialKind.AdminKey);
        await ProjectAsync(expired, new CredentialProjection
        {
            Id = "adm_2",
            Kind = CredentialKind.AdminKey,
            Hint = CredentialFormat.Redact(expired),
            Owner = new CredentialOwner { Type = "user", Id = "ops" },
            ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        });
        using var response = await Send("/admin/usage", expired);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private Task ProjectAsync(string credential, CredentialProjection projection) =>
        fixture.Db.StringSetAsync(RedisKeys.Credential(CredentialFormat.Hash(credential)), JsonSerializer.Serialize(projection, ProjectionJson), TimeSpan.FromMinutes(10));

    private async Task<(long Requests, long Errors, long Input, long Output, long CacheWrite, long CacheRead, long Cost)> SumsAsync(string where) =>
        (await fixture.ScalarAsync<long>($"SELECT count(*) FROM usage_events WHERE {where}"),
         await fixture.ScalarAsync<long>($"SELECT count(*) FROM usage_events WHERE {where} AND is_error"),
         await fixture.ScalarAsync<long>($"SELECT sum(input_tokens) FROM usage_events WHERE {where}"),
         await fixture.ScalarAsync<long>($"SELECT sum(output_tokens) FROM usage_events WHERE {where}"),
         await fixture.ScalarAsync<long>($"SELECT sum(cache_creation_input_tokens) FROM usage_events WHERE {where}"),
         await fixture.ScalarAsync<long>($"SELECT sum(cache_read_input_tokens) FROM usage_events WHERE {where}"),
         await fixture.ScalarAsync<long>($"SELECT sum(cost_nano_usd) FROM usage_events WHERE {where}"));

    private Task<HttpResponseMessage> Send(string path, string credential = UsageAppFixture.AdminKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("x-api-key", credential);
        return fixture.Worker().SendAsync(request);
    }

    private async Task<JsonElement> GetJsonAsync(string path, string credential = UsageAppFixture.AdminKey)
    {
        using var response = await Send(path, credential);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string message)
    {
        Assert.Equal(status, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("req_", body.GetProperty("request_id").GetString(), StringComparison.Ordinal);
        Assert.Equal(body.GetProperty("request_id").GetString(), response.Headers.GetValues("request-id").Single());
    }
}
