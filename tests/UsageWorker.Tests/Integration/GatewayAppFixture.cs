using LlmGateway.Testing;

namespace LlmGateway.UsageWorker.Tests.Integration;

[CollectionDefinition(Name)]
public sealed class GatewayAppCollection : ICollectionFixture<GatewayAppFixture>
{
    public const string Name = "gateway and usage worker";
}

/// <summary>
/// The Gateway and the UsageWorker with what they need (TokenService, the simulator, Redis, PostgreSQL), started once
/// for the tests that cross all three services.
/// </summary>
public sealed class GatewayAppFixture : IAsyncLifetime
{
    public TestApp App { get; private set; } = null!;

    public async Task InitializeAsync() =>
        App = await TestAppBuilder.Create().WithResources("gateway", "usageworker").StartAsync();

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}
