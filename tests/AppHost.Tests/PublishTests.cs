using System.Diagnostics;
using System.Text.Json;
using LlmGateway.AppHost.Hosting;
using LlmGateway.Testing;
using YamlDotNet.RepresentationModel;

namespace LlmGateway.AppHost.Tests;

/// <summary>The two publishers, run as the README runs them: <c>dotnet run --project AppHost -- --publisher …</c>.</summary>
public sealed class PublishTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("llmgw-publish-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    public async Task The_manifest_declares_containers_projects_and_secret_parameters_and_no_executable()
    {
        var path = Path.Combine(_output, "aspire-manifest.json");
        await PublishAsync("manifest", path);

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var resources = manifest.RootElement.GetProperty("resources").EnumerateObject().ToDictionary(r => r.Name, r => r.Value);
        string Type(string name) => resources[name].GetProperty("type").GetString()!;

        Assert.Equal("container.v0", Type("redis"));
        Assert.Equal("container.v0", Type("postgres"));
        Assert.Equal("value.v0", Type("llmgateway"));
        Assert.All(["gateway", "tokenservice", "usageworker", "adminui"], p => Assert.Equal("project.v0", Type(p)));
        Assert.All(["admin-key", "anthropic-api-key", "redis-password", "postgres-password"], p =>
        {
            Assert.Equal("parameter.v0", Type(p));
            Assert.True(resources[p].GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        });
        Assert.DoesNotContain(resources.Values, r => r.GetProperty("type").GetString() == "executable.v0");
        Assert.DoesNotContain("upstream", resources.Keys); // the simulator is demo mode's, never deployed
        Assert.Equal("{anthropic-api-key.value}", resources["gateway"].GetProperty("env").GetProperty("Upstream__ApiKey").GetString());
        Assert.True(resources["gateway"].GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
    }

    [Fact]
    public async Task The_price_table_is_stated_once_and_given_alike_to_the_gateway_and_the_usage_worker()
    {
        var path = Path.Combine(_output, "priced-manifest.json");
        await PublishAsync("manifest", path, "--Pricing:Models:acme-large:Input", "3", "--Pricing:Models:acme-large:Output", "15");

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var resources = manifest.RootElement.GetProperty("resources");
        foreach (var service in new[] { "gateway", "usageworker" })
        {
            var env = resources.GetProperty(service).GetProperty("env");
            Assert.Equal("3", env.GetProperty("Pricing__Models__acme-large__Input").GetString());
            Assert.Equal("15", env.GetProperty("Pricing__Models__acme-large__Output").GetString());
        }

        Assert.False(resources.GetProperty("tokenservice").GetProperty("env").TryGetProperty("Pricing__Models__acme-large__Input", out _));
    }

    [Fact]
    public async Task The_kubernetes_folder_renders_with_kustomize_into_probed_deployments_that_reference_secrets_by_name()
    {
        var folder = Path.Combine(_output, "k8s");
        await PublishAsync("kubernetes", folder);

        var objects = await KustomizeAsync(folder);
        var byKind = objects.ToLookup(o => Scalar(o, "kind"));
        Assert.Empty(byKind["Secret"]);
        Assert.Equal(["adminui", "gateway", "tokenservice", "usageworker"], byKind["Deployment"].Select(Name).Order());
        Assert.Equal(["postgres", "redis"], byKind["StatefulSet"].Select(Name).Order());
        Assert.Equal(["adminui", "gateway", "postgres", "redis", "tokenservice", "usageworker"], byKind["Service"].Select(Name).Order());
        Assert.Equal(["gateway", "usageworker"], byKind["HorizontalPodAutoscaler"].Select(Name).Order());
        Assert.Equal(["gateway", "tokenservice", "usageworker"], byKind["PodDisruptionBudget"].Select(Name).Order());

        foreach (var deployment in byKind["Deployment"])
        {
            var container = Container(deployment);
            Assert.Equal("/health", Scalar(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal("/alive", Scalar(container, "livenessProbe", "httpGet", "path"));
            Assert.NotNull(Scalar(container, "resources", "requests", "cpu"));
            Assert.Equal("llmgateway", Scalar(deployment, "metadata", "labels", "app.kubernetes.io/part-of"));
        }

        var gateway = Container(byKind["Deployment"].Single(d => Name(d) == "gateway"));
        var env = Env(gateway);
        Assert.Equal("$(SECRET_ANTHROPIC_API_KEY)", env["Upstream__ApiKey"].Value);
        Assert.Equal(("llmgateway-parameters", "anthropic-api-key"), env["SECRET_ANTHROPIC_API_KEY"].SecretRef);
        Assert.Equal("redis:6379,password=$(SECRET_REDIS_PASSWORD)", env["ConnectionStrings__redis"].Value);
        Assert.True(Index(gateway, "SECRET_REDIS_PASSWORD") < Index(gateway, "ConnectionStrings__redis"), "a $(VAR) must follow the variable it names");

        var config = byKind["ConfigMap"].Single(c => Name(c) == "gateway-config");
        Assert.Equal("http://tokenservice:8080", Scalar(config, "data", "services__tokenservice__http__0"));
        Assert.Equal("8080", Scalar(config, "data", "HTTP_PORTS"));

        var tokenService = Env(Container(byKind["Deployment"].Single(d => Name(d) == "tokenservice")));
        Assert.Equal("Host=postgres;Port=5432;Username=postgres;Password=$(SECRET_POSTGRES_PASSWORD);Database=llmgateway", tokenService["ConnectionStrings__llmgateway"].Value);
        Assert.Equal(("llmgateway-parameters", "admin-key"), tokenService["SECRET_ADMIN_KEY"].SecretRef);
    }

    [Fact]
    public async Task With_external_databases_the_connection_strings_come_from_a_secret_and_no_statefulset_is_written()
    {
        var folder = Path.Combine(_output, "k8s-external");
        await PublishAsync("kubernetes", folder, "--Kubernetes:ExternalDatabases", "true");

        var objects = await KustomizeAsync(folder);
        Assert.DoesNotContain(objects, o => Scalar(o, "kind") == "StatefulSet");
        var env = Env(Container(objects.Single(o => Scalar(o, "kind") == "Deployment" && Name(o) == "usageworker")));
        Assert.Equal("$(CONNECTION_REDIS)", env["ConnectionStrings__redis"].Value);
        Assert.Equal(("llmgateway-connections", "llmgateway"), env["CONNECTION_LLMGATEWAY"].SecretRef);
    }

    private static async Task PublishAsync(string publisher, string output, params string[] extra)
    {
        var (code, text) = await RunAsync("dotnet", ["run", "--project", "AppHost", "--no-build", "-c", TestAppBuilder.BuildConfiguration, "--",
            "--publisher", publisher, "--output-path", output, .. extra]);
        Assert.True(code == 0, $"publishing with '{publisher}' failed ({code}):\n{text}");
    }

    private static async Task<List<YamlMappingNode>> KustomizeAsync(string folder)
    {
        var (code, text) = await RunAsync("kubectl", ["kustomize", folder]);
        Assert.True(code == 0, $"kubectl kustomize failed ({code}):\n{text}");
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppState.RepositoryRoot };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await error);
    }

    private static string Name(YamlMappingNode node) => Scalar(node, "metadata", "name")!;

    private static YamlMappingNode Container(YamlMappingNode deployment) =>
        (YamlMappingNode)((YamlSequenceNode)Node(deployment, "spec", "template", "spec", "containers")!).Children[0];

    private static Dictionary<string, (string? Value, (string?, string?)? SecretRef)> Env(YamlMappingNode container) =>
        ((YamlSequenceNode)Node(container, "env")!).Children.Cast<YamlMappingNode>().ToDictionary(
            e => Scalar(e, "name")!,
            e => (Scalar(e, "value"), Node(e, "valueFrom") is null ? ((string?, string?)?)null
                : (Scalar(e, "valueFrom", "secretKeyRef", "name"), Scalar(e, "valueFrom", "secretKeyRef", "key"))));

    private static int Index(YamlMappingNode container, string variable) =>
        ((YamlSequenceNode)Node(container, "env")!).Children.Cast<YamlMappingNode>().ToList().FindIndex(e => Scalar(e, "name") == variable);

    private static string? Scalar(YamlMappingNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static YamlNode? Node(YamlMappingNode node, params string[] path)
    {
        YamlNode? current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out current))
            {
                return null;
            }
        }

        return current;
    }
}
