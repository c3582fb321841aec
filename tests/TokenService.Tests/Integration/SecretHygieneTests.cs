using System.Net;
using System.Text;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class SecretHygieneTests(TokenServiceApp service)
{
    [Fact]
    public async Task No_plaintext_secret_is_in_PostgreSQL_Redis_the_logs_or_the_data_files()
    {
        // Create and use one credential of every kind (other tests in the collection add theirs to the same list).
        var (_, apiKey) = await service.CreateApiKeyAsync();
        var agent = (await service.MintAsync(apiKey, """{"ttl":"1h","agent_name":"scanner"}""")).Body.GetProperty("token").GetString()!;
        (await service.MintAsync(agent, """{"ttl":"5m"}""")).AssertStatus(HttpStatusCode.OK);
        var (_, admin) = await service.CreateAsync("""{"kind":"admin_key","owner":{"type":"user","id":"scanner"}}""");
        (await service.SendAsync(HttpMethod.Get, "/admin/credentials", credential: admin)).AssertStatus(HttpStatusCode.OK);
        var device = (await service.SendAsync(HttpMethod.Post, "/bootstrap", """{"device_id":"scanner"}""", clientAddress: "192.0.2.77")).Body.GetProperty("wrapper_token").GetString()!;
        service.Secrets.Add(device);
        var refreshed = (await service.SendAsync(HttpMethod.Post, "/refresh", credential: device, bearer: true)).Body.GetProperty("wrapper_token").GetString()!;
        service.Secrets.Add(refreshed);
        (await service.IntrospectAsync(refreshed)).AssertStatus(HttpStatusCode.OK);
        var mistyped = apiKey[..^1] + (apiKey[^1] == 'a' ? 'b' : 'a');
        service.Secrets.Add(mistyped);
        (await service.MintAsync(mistyped, "{}")).AssertStatus(HttpStatusCode.Unauthorized);

        var postgres = await DumpPostgresAsync();
        var redis = await DumpRedisAsync();
        await service.App.WaitForLogAsync("tokenservice", l => l.Contains("Minted agent token", StringComparison.Ordinal));
        var logs = string.Join('\n', service.App.GetLogs("tokenservice").Concat(service.App.GetLogs("redis")).Concat(service.App.GetLogs("postgres")));

        // The scans see real data: the credentials are there, by hash.
        Assert.Contains(CredentialFormat.Hash(apiKey), postgres, StringComparison.Ordinal);
        Assert.Contains(RedisKeys.Credential(CredentialFormat.Hash(agent)), redis, StringComparison.Ordinal);
        Assert.Contains("Minted agent token", logs, StringComparison.Ordinal);

        var secrets = service.Secrets.Append(service.AdminKey).Distinct().ToList();
        Assert.True(secrets.Count >= 6);
        foreach (var secret in secrets)
        {
            // The random part alone is enough to find a leaked secret, whatever was done to its prefix.
            var needle = secret[8..];
            Assert.False(postgres.Contains(needle, StringComparison.Ordinal), $"{CredentialFormat.Redact(secret)} is in PostgreSQL");
            Assert.False(redis.Contains(needle, StringComparison.Ordinal), $"{CredentialFormat.Redact(secret)} is in Redis");
            Assert.False(logs.Contains(needle, StringComparison.Ordinal), $"{CredentialFormat.Redact(secret)} is in a log");
        }

        // And on disk: PostgreSQL's tables and WAL, Redis's files. (The admin key is an operator parameter the
        // AppHost itself may keep in its state folder, so it is not looked for there.)
        foreach (var file in Directory.EnumerateFiles(service.App.StateDirectory, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file);
            }
            catch (IOException)
            {
                continue;
            }

            foreach (var secret in service.Secrets.Distinct())
            {
                Assert.False(bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(secret[8..])) >= 0, $"{CredentialFormat.Redact(secret)} is in {file}");
            }
        }
    }

    private async Task<string> DumpPostgresAsync()
    {
        var dump = new StringBuilder();
        await using var connection = new NpgsqlConnection(service.PostgresConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("credentials", tables);
        Assert.Contains("audit_log", tables);
        foreach (var table in tables)
        {
            await using var select = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM \"{table}\" t", connection);
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }

        return dump.ToString();
    }

    private async Task<string> DumpRedisAsync()
    {
        var dump = new StringBuilder();
        var database = service.Redis.GetDatabase();
        foreach (var key in service.Redis.GetServer(service.Redis.GetEndPoints()[0]).Keys(pattern: "*", pageSize: 500))
        {
            dump.Append((string)key!).Append(' ');
            switch (await database.KeyTypeAsync(key))
            {
                case RedisType.String:
                    dump.AppendLine(await database.StringGetAsync(key));
                    break;
                case RedisType.Hash:
                    dump.AppendLine(string.Join(' ', (await database.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}")));
                    break;
                case RedisType.List:
                    dump.AppendLine(string.Join(' ', await database.ListRangeAsync(key)));
                    break;
                case RedisType.Set:
                    dump.AppendLine(string.Join(' ', await database.SetMembersAsync(key)));
                    break;
                case RedisType.SortedSet:
                    dump.AppendLine(string.Join(' ', await database.SortedSetRangeByRankAsync(key)));
                    break;
                default:
                    dump.AppendLine((await database.ExecuteAsync("XRANGE", (string)key!, "-", "+")).ToString());
                    break;
            }
        }

        return dump.ToString();
    }
}
