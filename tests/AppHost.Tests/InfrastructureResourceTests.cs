using System.Net.Sockets;
using System.Text;
using LlmGateway.Testing;
using Npgsql;

namespace LlmGateway.AppHost.Tests;

public sealed class InfrastructureResourceTests
{
    [Fact]
    public async Task Two_apps_run_side_by_side_with_their_own_ports_and_passwords()
    {
        await using var first = await TestAppBuilder.Create().WithResources("redis", "llmgateway").StartAsync();
        await using var second = await TestAppBuilder.Create().WithResources("redis", "llmgateway").StartAsync();

        Assert.NotEqual(first.GetEndpoint("redis"), second.GetEndpoint("redis"));
        Assert.NotEqual(first.GetEndpoint("postgres"), second.GetEndpoint("postgres"));
        Assert.NotEqual(first.GetParameter("redis-password"), second.GetParameter("redis-password"));

        foreach (var app in new[] { first, second })
        {
            Assert.Equal("+PONG", await RedisAsync(app, "PING"));
            await using var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("llmgateway"));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT current_database()", connection);
            Assert.Equal("llmgateway", await command.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task Redis_requires_its_generated_password_and_keeps_data_across_a_restart()
    {
        await using var app = await TestAppBuilder.Create().WithResources("redis").StartAsync();
        var endpoint = app.GetEndpoint("redis");
        using (var anonymous = new TcpClient())
        {
            await anonymous.ConnectAsync(endpoint.Host, endpoint.Port);
            var reply = await SendAsync(anonymous.GetStream(), "*1\r\n$4\r\nPING\r\n");
            Assert.StartsWith("-NOAUTH", reply, StringComparison.Ordinal);
        }

        Assert.Equal("+OK", await RedisAsync(app, "SET", "k", "v"));
        await app.StopResourceAsync("redis");
        await app.StartResourceAsync("redis");
        Assert.Equal("$1\r\nv", await RedisAsync(app, "GET", "k"));
    }

    [Fact]
    public async Task Postgres_runs_with_scram_password_and_rejects_a_wrong_one()
    {
        await using var app = await TestAppBuilder.Create().WithResources("llmgateway").StartAsync();
        var good = await app.GetConnectionStringAsync("llmgateway");
        var bad = new NpgsqlConnectionStringBuilder(good) { Password = "wrong" }.ConnectionString;
        await using var connection = new NpgsqlConnection(bad);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    private static async Task<string> RedisAsync(TestApp app, params string[] command)
    {
        var endpoint = app.GetEndpoint("redis");
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint.Host, endpoint.Port);
        var stream = client.GetStream();
        Assert.Equal("+OK", await SendAsync(stream, Resp("AUTH", app.GetParameter("redis-password"))));
        return await SendAsync(stream, Resp(command));
    }

    private static string Resp(params string[] parts)
    {
        var text = new StringBuilder($"*{parts.Length}\r\n");
        foreach (var part in parts)
        {
            text.Append($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        return text.ToString();
    }

    private static async Task<string> SendAsync(NetworkStream stream, string command)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command));
        var buffer = new byte[4096];
        var n = await stream.ReadAsync(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n).TrimEnd('\r', '\n');
    }
}
