using Aspire.Hosting.ApplicationModel;
using LlmGateway.AppHost.Hosting;
using LlmGateway.AppHost.Publishing;
using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// The application, stated once. `dotnet run --project AppHost` runs it (DCP, the dashboard); `--publisher manifest`
// and `--publisher kubernetes` write deployment artifacts from the same model; tests start it through
// Aspire.Hosting.Testing.
var builder = DistributedApplication.CreateBuilder(args);

// Secrets given to the AppHost through its environment (Parameters__*) are now in configuration. Take them out of
// the process environment before DCP starts: every executable inherits DCP's environment, and the upstream key
// must reach the gateway alone, through the parameter it is given below.
SecretEnvironment.RemoveParameters();

var run = builder.ExecutionContext.IsRunMode;
using var state = run ? AppState.Open(builder.Configuration) : null;
var durable = builder.Configuration.GetValue(AppHostSettings.Durable, true);

var adminKey = builder.AddSecret("admin-key", state, () => CredentialFormat.Generate(CredentialKind.AdminKey), publishGenerated: false);
var redisPassword = builder.AddSecret("redis-password", state, AppHostSettings.GeneratePassword);
var postgresPassword = builder.AddSecret("postgres-password", state, AppHostSettings.GeneratePassword);
// What the services present to TokenService's /internal/* routes (introspection).
var internalKey = builder.AddSecret("internal-api-key", state, AppHostSettings.GeneratePassword);

// Redis and PostgreSQL: local processes in run mode (there is no container engine), Aspire's containers when published.
IResourceBuilder<IResourceWithConnectionString> redis;
IResourceBuilder<IResourceWithConnectionString> database;
if (run)
{
    LocalBinaries.EnsureInstalled(Console.WriteLine);
    redis = builder.AddLocalRedis("redis", redisPassword, state!.PathOf("redis"), AppHostSettings.Port(builder, "redis"), durable);
    database = builder.AddLocalPostgres("postgres", postgresPassword, state.PathOf("postgres"), AppHostSettings.Port(builder, "postgres"), durable)
        .AddDatabase("llmgateway");
}
else
{
    redis = builder.AddRedis("redis", password: redisPassword).WithDataVolume();
    database = builder.AddPostgres("postgres", password: postgresPassword).WithDataVolume().AddDatabase("llmgateway");
}

// A service waits for what it needs before its first start; one restarted after a crash while, say, PostgreSQL is
// stopped waits too instead of failing to start (CrashedServiceRestarter then starts it anyway: a service must come
// up on its own and report not ready).
const WaitBehavior Patient = WaitBehavior.WaitOnResourceUnavailable;

var tokenService = builder.AddProject<Projects.TokenService>("tokenservice")
    .WithHttpEndpoint(name: "http")
    .WithReference(redis).WaitFor(redis, Patient)
    .WithReference(database).WaitFor(database, Patient)
    .WithEnvironment("Admin__BootstrapKey", adminKey)
    .WithEnvironment("Internal__ApiKey", internalKey)
    .WithHttpHealthCheck("/health");

var usageWorker = builder.AddProject<Projects.UsageWorker>("usageworker")
    .WithHttpEndpoint(name: "http")
    .WithReference(redis).WaitFor(redis, Patient)
    .WithReference(database).WaitFor(database, Patient)
    .WithReference(tokenService)
    .WithEnvironment("Admin__BootstrapKey", adminKey)
    .WithEnvironment("Internal__ApiKey", internalKey)
    .WithHttpHealthCheck("/health");

var gateway = builder.AddProject<Projects.Gateway>("gateway")
    .WithHttpEndpoint(port: AppHostSettings.PublicPort(builder, "gateway", 8080), name: "http")
    .WithExternalHttpEndpoints()
    .WithReference(redis).WaitFor(redis, Patient)
    .WithReference(tokenService).WaitFor(tokenService, Patient)
    .WithReference(usageWorker)
    .WithEnvironment("Internal__ApiKey", internalKey)
    .WithHttpHealthCheck("/health");
if (run)
{
    // Usage events wait here while Redis is down; the folder belongs to this app's state, so an aborted run's
    // leftovers are replayed into the same Redis on the next start, never into another app's.
    gateway.WithEnvironment("Gateway__Usage__SpoolDirectory", state!.PathOf("gateway-spool"));
}

if (AppHostSettings.IsDemoMode(builder))
{
    // No real key: the simulator stands in for Anthropic, with a key of its own so the gateway's "send the real key
    // upstream" path is exercised exactly as in production.
    var simulatorKey = builder.AddSecret("simulator-api-key", state, () => "sk-ant-sim-" + AppHostSettings.GeneratePassword(), publishGenerated: true);
    var upstream = builder.AddProject<Projects.UpstreamSimulator>("upstream")
        .WithHttpEndpoint(name: "http")
        .WithEnvironment("Simulator__ExpectedApiKey", simulatorKey)
        .WithHttpHealthCheck("/health");
    gateway.WithReference(upstream).WaitFor(upstream, Patient)
        .WithEnvironment("Upstream__BaseUrl", "http://upstream")
        .WithEnvironment("Upstream__ApiKey", simulatorKey)
        // The simulator is ours: its spans join the gateway's traces on the dashboard. (A real provider is never sent
        // trace headers unless Upstream:PropagateTraceContext asks for it.)
        .WithEnvironment("Upstream__PropagateTraceContext", "true");
    // The simulator also plays the provider's authorization server for upstream OAuth accounts (/api/claude/*).
    // TokenService reaches it by service discovery; the authorization URL it hands out names the same address.
    tokenService.WithReference(upstream)
        .WithEnvironment("UpstreamOAuth__Authority", "http://upstream")
        .WithEnvironment("UpstreamOAuth__ClientId", "llmgateway-demo")
        .WithEnvironment("UpstreamOAuth__RedirectUri", "http://upstream/oauth/code/callback");

    // A second provider, OpenAI-compatible (the same simulator speaking /v1/chat/completions with Bearer keys), so
    // routing by model, fallback and the circuit breakers (GET /admin/circuit-breaker) can be seen: gpt-* models go
    // to it, everything else to the Anthropic simulator above. Naming an upstream turns the breakers on.
    var openAiKey = builder.AddSecret("simulator-openai-api-key", state, () => "sk-sim-openai-" + AppHostSettings.GeneratePassword(), publishGenerated: true);
    var openAiUpstream = builder.AddProject<Projects.UpstreamSimulator>("upstream-openai")
        .WithHttpEndpoint(name: "http")
        .WithEnvironment("Simulator__ExpectedApiKey", openAiKey)
        .WithHttpHealthCheck("/health");
    gateway.WithReference(openAiUpstream).WaitFor(openAiUpstream, Patient)
        .WithEnvironment("Upstreams__openai__Kind", "OpenAI")
        .WithEnvironment("Upstreams__openai__BaseUrl", "http://upstream-openai")
        .WithEnvironment("Upstreams__openai__ApiKey", openAiKey)
        .WithEnvironment("Upstreams__openai__Models__0", "gpt-*");

    // OpenAI's list prices for the demo's models (USD per million tokens; no cache-write surcharge), so gpt-* traffic
    // has a cost and budgets apply to it. The operator's own Pricing section, passed below, overrides them.
    foreach (var (model, input, output, cached) in new[] { ("gpt-4o-mini", "0.15", "0.6", "0.075"), ("gpt-4o", "2.5", "10", "1.25") })
    {
        foreach (var priced in new IResourceBuilder<IResourceWithEnvironment>[] { gateway, usageWorker })
        {
            priced.WithEnvironment($"Pricing__Upstreams__openai__{model}__Input", input)
                .WithEnvironment($"Pricing__Upstreams__openai__{model}__Output", output)
                .WithEnvironment($"Pricing__Upstreams__openai__{model}__CacheWrite", input)
                .WithEnvironment($"Pricing__Upstreams__openai__{model}__CacheRead", cached);
        }
    }
}
else
{
    var anthropicKey = builder.AddParameter("anthropic-api-key", secret: true);
    gateway.WithEnvironment("Upstream__BaseUrl", builder.Configuration["Upstream:BaseUrl"] ?? "https://api.anthropic.com")
        .WithEnvironment("Upstream__ApiKey", anthropicKey);
}

var adminUi = builder.AddProject<Projects.AdminUi>("adminui")
    .WithHttpEndpoint(port: AppHostSettings.PublicPort(builder, "adminui", 8081), name: "http")
    .WithExternalHttpEndpoints()
    .WithReference(gateway).WaitFor(gateway, Patient)
    .WithReference(tokenService)
    .WithReference(usageWorker)
    .WithHttpHealthCheck("/health");

if (run)
{
    builder.Services.AddHostedService(services => new StartupSummary(services, state!, adminKey.Resource, AppHostSettings.IsDemoMode(builder)));
    builder.Services.AddHostedService<CrashedServiceRestarter>();
}

// Sign-in JWTs: TokenService issues them for local accounts (/api/auth/login) and publishes its keys as an OIDC issuer;
// every service that accepts a JWT validates them from that metadata (issuer "local" of the Identity options), so a
// key rotation reaches all of them without a restart. TokenService reaches itself by the same name.
const string signInIssuer = "llmgateway";
const string signInAudience = "llmgateway";
tokenService.WithEnvironment("services__tokenservice__http__0", tokenService.GetEndpoint("http"))
    .WithEnvironment("Accounts__Jwt__Issuer", signInIssuer)
    .WithEnvironment("Accounts__Jwt__Audience", signInAudience);
foreach (var service in new[] { tokenService, usageWorker, gateway })
{
    service.WithEnvironment("Identity__Issuers__local__MetadataAddress", "http://tokenservice/.well-known/openid-configuration")
        .WithEnvironment("Identity__Issuers__local__Issuer", signInIssuer)
        .WithEnvironment("Identity__Issuers__local__Audience", signInAudience)
        // Inside the app the metadata is fetched over the service network by name (plain http, as every service call).
        .WithEnvironment("Identity__Issuers__local__RequireHttpsMetadata", "false")
        .WithEnvironment("Identity__Issuers__local__UseSubjectAsUserId", "true");
}

// Both price tokens: one table for the budget reservations and the recorded cost.
gateway.WithConfigurationSection(builder.Configuration, "Pricing");
usageWorker.WithConfigurationSection(builder.Configuration, "Pricing");

// The admin UI's single sign-on (AdminUi:Oidc), off unless an issuer is configured.
adminUi.WithConfigurationSection(builder.Configuration, "AdminUi:Oidc");

// Local accounts (Accounts:Registration, AdminEmail, lockout, token lifetime): TokenService's own settings.
tokenService.WithConfigurationSection(builder.Configuration, "Accounts");

// JWT callers (Identity:Issuers, Identity:UserLimits): every service that authenticates callers reads the same issuers.
gateway.WithConfigurationSection(builder.Configuration, "Identity");
tokenService.WithConfigurationSection(builder.Configuration, "Identity");
usageWorker.WithConfigurationSection(builder.Configuration, "Identity");

builder.AddKubernetesPublishing();

builder.Build().Run();
