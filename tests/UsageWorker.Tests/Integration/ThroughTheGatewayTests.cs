using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmGateway.Testing;
using LlmGateway.Contracts.Pricing;
using Npgsql;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>The whole path: official SDK → Gateway → simulator, usage event → Redis stream → UsageWorker → PostgreSQL.</summary>
[Collection(GatewayAppCollection.Name)]
public sealed class ThroughTheGatewayTests(GatewayAppFixture fixture)
{
    private const string Model = "claude-sonnet-4-5-20250929";
    private readonly TestApp _app = fixture.App;

    [Fact]
    public async Task N_requests_through_the_gateway_become_exactly_N_priced_rows_and_the_usage_api_agrees()
    {
        const int n = 12;
        var (credentialId, secret) = await CreateApiKeyAsync();
        var client = new AnthropicClient { ApiKey = secret, BaseUrl = _app.GetEndpoint("gateway").ToString().TrimEnd('/'), MaxRetries = 0 };

        // Half plain, half streamed, with different prompts so token counts differ; the usage each response reports is
        // what the row must hold.
        var expected = new List<TokenUsage>();
        for (var i = 0; i < n; i++)
        {
            var request = new MessageCreateParams
            {
                Model = Model,
                MaxTokens = 5 + i,
                Messages = [new UserMessageParam { Content = string.Join(' ', Enumerable.Repeat("word", 3 + i * 7)) }],
            };
            if (i % 2 == 0)
            {
                var message = await client.Messages.Create(request);
                expected.Add(new TokenUsage(message.Usage.InputTokens, message.Usage.OutputTokens,
                    message.Usage.CacheCreationInputTokens ?? 0, message.Usage.CacheReadInputTokens ?? 0));
            }
            else
            {
                long input = 0, output = 0;
                await foreach (var e in client.Messages.CreateStreaming(request))
                {
                    var json = e.Json;
                    var type = json.GetProperty("type").GetString();
                    if (type == "message_start")
                    {
                        input = json.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt64();
                    }
                    else if (type == "message_delta")
                    {
                        output = json.GetProperty("usage").GetProperty("output_tokens").GetInt64();
                    }
                }

                expected.Add(new TokenUsage(input, output));
            }
        }

        await using var db = NpgsqlDataSource.Create((await _app.GetConnectionStringAsync("llmgateway"))!);
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (await ScalarAsync<long>(db, "SELECT count(*) FROM usage_events WHERE credential_id = $1", credentialId) < n)
            {
                await Task.Delay(100, patience.Token);
            }
        }

        // Exactly N rows (nothing doubled), each request once, with the tokens the client saw and the table's price.
        Assert.Equal(n, await ScalarAsync<long>(db, "SELECT count(*) FROM usage_events WHERE credential_id = $1", credentialId));
        Assert.Equal(n, await ScalarAsync<long>(db, "SELECT count(DISTINCT request_id) FROM usage_events WHERE credential_id = $1", credentialId));
        Assert.Equal(expected.Sum(u => u.InputTokens), await ScalarAsync<long>(db, "SELECT sum(input_tokens) FROM usage_events WHERE credential_id = $1", credentialId));
        Assert.Equal(expected.Sum(u => u.OutputTokens), await ScalarAsync<long>(db, "SELECT sum(output_tokens) FROM usage_events WHERE credential_id = $1", credentialId));
        var price = PriceTable.BuiltIn.Find(Model)!.Price;
        var expectedCost = expected.Sum(price.CostNanoUsd);
        Assert.True(expectedCost > 0);
        Assert.Equal(expectedCost, await ScalarAsync<long>(db, "SELECT sum(cost_nano_usd) FROM usage_events WHERE credential_id = $1", credentialId));
        Assert.Equal(n / 2, await ScalarAsync<long>(db, "SELECT count(*) FROM usage_events WHERE credential_id = $1 AND stream", credentialId));
        Assert.Equal(0, await ScalarAsync<long>(db, "SELECT count(*) FROM usage_events WHERE credential_id = $1 AND (estimated OR is_error OR NOT priced)", credentialId));

        // The usage API, reached through the Gateway's address with the admin key, shows the same numbers.
        using var http = _app.CreateHttpClient("gateway");
        using var report = new HttpRequestMessage(HttpMethod.Get, $"/admin/usage?credential_id={credentialId}&granularity=day&group_by=model");
        report.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _app.GetParameter("admin-key"));
        using var response = await http.SendAsync(report);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        var totals = body.GetProperty("totals");
        Assert.Equal(n, totals.GetProperty("requests").GetInt64());
        Assert.Equal(expected.Sum(u => u.InputTokens), totals.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.Sum(u => u.OutputTokens), totals.GetProperty("output_tokens").GetInt64());
        Assert.Equal(expectedCost, totals.GetProperty("cost_nano_usd").GetInt64());
        Assert.Equal(Model, body.GetProperty("data")[0].GetProperty("model").GetString());
    }

    private async Task<(string Id, string Secret)> CreateApiKeyAsync()
    {
        using var http = _app.CreateHttpClient("gateway");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new { name = "usage e2e", owner = new { type = "organization", id = "org_usage_e2e" } }),
        };
        create.Headers.Add("x-api-key", _app.GetParameter("admin-key"));
        using var response = await http.SendAsync(create);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        return (body.GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, string parameter)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.AddWithValue(parameter);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull or null ? default! : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
