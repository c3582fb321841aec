#pragma warning disable ASPIREPIPELINES001 // the pipeline-step API publishers are built on (Aspire marks it experimental)

using System.Globalization;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using YamlDotNet.Serialization;

namespace LlmGateway.AppHost.Publishing;

/// <summary>
/// <c>--publisher kubernetes --output-path DIR</c>: a kustomize folder written from the same application model the
/// run mode and the manifest publisher read (Aspire.Hosting.Kubernetes is not served here).
/// <list type="bullet">
/// <item>each project: a Deployment (readiness <c>/health</c>, liveness <c>/alive</c>, resource requests), a Service,
/// a ConfigMap with its plain settings; an HPA and a PodDisruptionBudget where it scales out;</item>
/// <item>every secret parameter is a <c>secretKeyRef</c> into the Secret <c>llmgateway-parameters</c> (never a value),
/// and values built from secrets (connection strings) are composed by Kubernetes itself with <c>$(VAR)</c>;</item>
/// <item>Redis and PostgreSQL as StatefulSets with volumes, or, with <c>Kubernetes:ExternalDatabases=true</c>,
/// nothing: the connection strings come from the Secret <c>llmgateway-connections</c>.</item>
/// </list>
/// </summary>
public static class KubernetesPublisher
{
    public const string PublisherName = "kubernetes";
    public const string StepName = "publish-kubernetes";
    public const string ParametersSecret = "llmgateway-parameters";
    public const string ConnectionsSecret = "llmgateway-connections";
    public const int ContainerPort = 8080;

    /// <summary>Registers the step when <c>--publisher kubernetes</c> was asked for.</summary>
    public static void AddKubernetesPublishing(this IDistributedApplicationBuilder builder)
    {
        if (!string.Equals(builder.Configuration["Publishing:Publisher"], PublisherName, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        // As Aspire does for --publisher manifest: run this step only.
        if (string.IsNullOrEmpty(builder.Configuration["Pipeline:Step"]))
        {
            builder.Configuration["Pipeline:Step"] = StepName;
        }

        builder.Pipeline.AddStep(new PipelineStep
        {
            Name = StepName,
            Description = "Writes a kustomize folder (Deployments, Services, ConfigMaps, HPAs, PDBs, StatefulSets) for Kubernetes.",
            Action = async context =>
            {
                var options = context.Services.GetRequiredService<IOptions<PipelineOptions>>().Value;
                var output = options.OutputPath ?? throw new DistributedApplicationException(
                    "The '--output-path [path]' option was not specified even though Kubernetes publishing was requested.");
                var external = context.Services.GetRequiredService<IConfiguration>().GetValue("Kubernetes:ExternalDatabases", false);
                var files = await new KubernetesModel(context.Model, context.ExecutionContext, external).RenderAsync(context.CancellationToken).ConfigureAwait(false);
                var directory = Path.GetFullPath(output);
                Directory.CreateDirectory(directory);
                foreach (var (name, text) in files)
                {
                    await File.WriteAllTextAsync(Path.Combine(directory, name), text, context.CancellationToken).ConfigureAwait(false);
                }

                context.Logger.LogInformation("Wrote a kustomize folder for Kubernetes to {Directory} ({Count} files)", directory, files.Count);
            },
        });
    }
}

/// <summary>Turns the application model into Kubernetes objects, one YAML file per resource plus the kustomization.</summary>
internal sealed class KubernetesModel(DistributedApplicationModel model, DistributedApplicationExecutionContext execution, bool externalDatabases)
{
    private static readonly ISerializer Yaml = new SerializerBuilder()
        .WithIndentedSequences()
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    /// <summary>How each service runs in a cluster: replicas, autoscaling, requests.</summary>
    private static readonly Dictionary<string, (int Replicas, int MaxReplicas, string Cpu, string Memory, string MemoryLimit)> Sizing = new()
    {
        ["gateway"] = (2, 10, "250m", "256Mi", "1Gi"),
        ["usageworker"] = (2, 6, "100m", "192Mi", "512Mi"),
        ["tokenservice"] = (2, 2, "100m", "192Mi", "512Mi"),
        ["adminui"] = (1, 1, "50m", "128Mi", "384Mi"),
    };

    public async Task<Dictionary<string, string>> RenderAsync(CancellationToken ct)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var project in model.Resources.OfType<ProjectResource>().Where(Published))
        {
            files[$"{project.Name}.yaml"] = Documents(await ProjectAsync(project, ct).ConfigureAwait(false));
        }

        if (!externalDatabases)
        {
            foreach (var container in model.Resources.OfType<ContainerResource>().Where(Published))
            {
                files[$"{container.Name}.yaml"] = Documents(Database(container));
            }
        }

        var images = model.Resources.OfType<ProjectResource>().Where(Published)
            .Select(p => new Dictionary<string, object> { ["name"] = Image(p.Name), ["newTag"] = "latest" })
            .ToList();
        files["kustomization.yaml"] = "# Written by `dotnet run --project AppHost -- --publisher kubernetes`. Render with `kubectl kustomize`.\n"
            + "# Before applying, create the secrets it references (see README.md in this folder).\n"
            + Yaml.Serialize(new Dictionary<string, object>
            {
                ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
                ["kind"] = "Kustomization",
                ["labels"] = new List<object> { new Dictionary<string, object> { ["pairs"] = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "llmgateway" } } },
                ["resources"] = files.Keys.Order(StringComparer.Ordinal).ToList(),
                ["images"] = images,
            });
        files["README.md"] = Readme();
        return files;
    }

    private async Task<List<object>> ProjectAsync(ProjectResource project, CancellationToken ct)
    {
        var name = project.Name;
        var (replicas, maxReplicas, cpu, memory, memoryLimit) = Sizing.GetValueOrDefault(name, (1, 1, "50m", "128Mi", "384Mi"));
        var environment = await EnvironmentAsync(project, ct).ConfigureAwait(false);

        var plain = environment.Where(e => e.Value.Secrets.Count == 0).ToDictionary(e => e.Key, e => e.Value.Text);
        var secrets = environment.Values.SelectMany(v => v.Secrets).DistinctBy(s => s.Variable).ToList();
        var composed = environment.Where(e => e.Value.Secrets.Count > 0).ToList();

        // Secret references first: Kubernetes expands $(VAR) only from variables defined before.
        var env = new List<object>();
        env.AddRange(secrets.Select(s => new Dictionary<string, object>
        {
            ["name"] = s.Variable,
            ["valueFrom"] = new Dictionary<string, object> { ["secretKeyRef"] = new Dictionary<string, object> { ["name"] = s.Secret, ["key"] = s.Key } },
        }));
        env.AddRange(composed.Select(e => new Dictionary<string, object> { ["name"] = e.Key, ["value"] = e.Value.Text }));

        var labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = name };
        var http = project.GetEndpoints().Any();
        var container = new Dictionary<string, object>
        {
            ["name"] = name,
            ["image"] = Image(name),
            ["envFrom"] = new List<object> { new Dictionary<string, object> { ["configMapRef"] = new Dictionary<string, string> { ["name"] = $"{name}-config" } } },
            ["env"] = env,
            ["resources"] = new Dictionary<string, object>
            {
                ["requests"] = new Dictionary<string, string> { ["cpu"] = cpu, ["memory"] = memory },
                ["limits"] = new Dictionary<string, string> { ["memory"] = memoryLimit },
            },
            ["securityContext"] = new Dictionary<string, object> { ["runAsNonRoot"] = true, ["allowPrivilegeEscalation"] = false },
        };
        if (http)
        {
            container["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "http", ["containerPort"] = KubernetesPublisher.ContainerPort } };
            container["readinessProbe"] = Probe("/health", 5);
            container["livenessProbe"] = Probe("/alive", 10);
        }

        var documents = new List<object>
        {
            new Dictionary<string, object>
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = Metadata($"{name}-config", labels),
                ["data"] = plain,
            },
            new Dictionary<string, object>
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "Deployment",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object>
                {
                    ["replicas"] = replicas,
                    ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels },
                    ["template"] = new Dictionary<string, object>
                    {
                        ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                        ["spec"] = new Dictionary<string, object>
                        {
                            ["terminationGracePeriodSeconds"] = 30,
                            ["containers"] = new List<object> { container },
                        },
                    },
                },
            },
        };
        if (http)
        {
            documents.Add(new Dictionary<string, object>
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object>
                {
                    ["selector"] = labels,
                    ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "http", ["port"] = KubernetesPublisher.ContainerPort, ["targetPort"] = "http" } },
                },
            });
        }

        if (maxReplicas > replicas)
        {
            documents.Add(new Dictionary<string, object>
            {
                ["apiVersion"] = "autoscaling/v2",
                ["kind"] = "HorizontalPodAutoscaler",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object>
                {
                    ["scaleTargetRef"] = new Dictionary<string, string> { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = name },
                    ["minReplicas"] = replicas,
                    ["maxReplicas"] = maxReplicas,
                    ["metrics"] = new List<object>
                    {
                        new Dictionary<string, object>
                        {
                            ["type"] = "Resource",
                            ["resource"] = new Dictionary<string, object>
                            {
                                ["name"] = "cpu",
                                ["target"] = new Dictionary<string, object> { ["type"] = "Utilization", ["averageUtilization"] = 70 },
                            },
                        },
                    },
                },
            });
        }

        if (replicas > 1)
        {
            documents.Add(new Dictionary<string, object>
            {
                ["apiVersion"] = "policy/v1",
                ["kind"] = "PodDisruptionBudget",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object> { ["minAvailable"] = 1, ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels } },
            });
        }

        return documents;
    }

    /// <summary>Redis or PostgreSQL (Aspire's container resources) as a StatefulSet with a volume and a Service.</summary>
    private static List<object> Database(ContainerResource container)
    {
        var name = container.Name;
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = name };
        var image = container.TryGetContainerImageName(out var imageName) ? imageName : name;
        var (port, dataPath, env, args) = container switch
        {
            RedisResource redis => (6379, "/data", new List<object> { SecretVariable("REDIS_PASSWORD", redis.PasswordParameter!.Name) },
                new List<string> { "redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--appendfsync", "everysec" }),
            PostgresServerResource postgres => (5432, "/var/lib/postgresql", new List<object>
            {
                SecretVariable("POSTGRES_PASSWORD", postgres.PasswordParameter.Name),
                new Dictionary<string, object> { ["name"] = "POSTGRES_HOST_AUTH_METHOD", ["value"] = "scram-sha-256" },
                new Dictionary<string, object> { ["name"] = "POSTGRES_INITDB_ARGS", ["value"] = "--auth-host=scram-sha-256 --auth-local=scram-sha-256" },
            }, (List<string>?)null),
            _ => throw new NotSupportedException($"The Kubernetes publisher does not know how to run the container '{name}'."),
        };
        var spec = new Dictionary<string, object>
        {
            ["name"] = name,
            ["image"] = image,
            ["env"] = env,
            ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "tcp", ["containerPort"] = port } },
            ["volumeMounts"] = new List<object> { new Dictionary<string, object> { ["name"] = "data", ["mountPath"] = dataPath } },
            ["readinessProbe"] = new Dictionary<string, object> { ["tcpSocket"] = new Dictionary<string, object> { ["port"] = "tcp" }, ["periodSeconds"] = 5 },
            ["resources"] = new Dictionary<string, object> { ["requests"] = new Dictionary<string, string> { ["cpu"] = "100m", ["memory"] = "256Mi" } },
        };
        if (args is not null)
        {
            spec["command"] = args;
        }

        return
        [
            new Dictionary<string, object>
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object>
                {
                    ["selector"] = labels,
                    ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "tcp", ["port"] = port, ["targetPort"] = "tcp" } },
                },
            },
            new Dictionary<string, object>
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "StatefulSet",
                ["metadata"] = Metadata(name, labels),
                ["spec"] = new Dictionary<string, object>
                {
                    ["serviceName"] = name,
                    ["replicas"] = 1,
                    ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels },
                    ["template"] = new Dictionary<string, object>
                    {
                        ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                        ["spec"] = new Dictionary<string, object> { ["containers"] = new List<object> { spec } },
                    },
                    ["volumeClaimTemplates"] = new List<object>
                    {
                        new Dictionary<string, object>
                        {
                            ["metadata"] = new Dictionary<string, object> { ["name"] = "data" },
                            ["spec"] = new Dictionary<string, object>
                            {
                                ["accessModes"] = new List<string> { "ReadWriteOnce" },
                                ["resources"] = new Dictionary<string, object> { ["requests"] = new Dictionary<string, string> { ["storage"] = "10Gi" } },
                            },
                        },
                    },
                },
            },
        ];
    }

    /// <summary>The project's environment as the model states it, each value rendered for the cluster.</summary>
    private async Task<SortedDictionary<string, Rendered>> EnvironmentAsync(ProjectResource project, CancellationToken ct)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var context = new EnvironmentCallbackContext(execution, project, values, ct);
        foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context).ConfigureAwait(false);
        }

        // The container listens where the Service sends traffic; telemetry goes where the cluster's collector is.
        values["HTTP_PORTS"] = KubernetesPublisher.ContainerPort.ToString(CultureInfo.InvariantCulture);
        values.Remove("ASPNETCORE_URLS");
        var rendered = new SortedDictionary<string, Rendered>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            var secrets = new List<SecretReference>();
            rendered[name] = new Rendered(await RenderAsync(value, secrets, ct).ConfigureAwait(false), secrets);
        }

        return rendered;
    }

    private async Task<string> RenderAsync(object? value, List<SecretReference> secrets, CancellationToken ct)
    {
        switch (value)
        {
            case null:
                return "";
            case string text:
                return text;
            case ParameterResource { Secret: true } parameter:
                var variable = "SECRET_" + Variable(parameter.Name);
                secrets.Add(new SecretReference(variable, KubernetesPublisher.ParametersSecret, parameter.Name));
                return $"$({variable})";
            case ParameterResource parameter:
                return await parameter.GetValueAsync(ct).ConfigureAwait(false) ?? "";
            case ConnectionStringReference reference:
                return await RenderAsync(reference.Resource, secrets, ct).ConfigureAwait(false);
            case IResourceWithConnectionString resource when externalDatabases:
                var connection = "CONNECTION_" + Variable(resource.Name);
                secrets.Add(new SecretReference(connection, KubernetesPublisher.ConnectionsSecret, resource.Name));
                return $"$({connection})";
            case RedisResource redis:
                return $"{redis.Name}:6379,password={await RenderAsync(redis.PasswordParameter, secrets, ct).ConfigureAwait(false)}";
            case IResourceWithConnectionString resource:
                return await RenderAsync(resource.ConnectionStringExpression, secrets, ct).ConfigureAwait(false);
            case EndpointReference endpoint:
                return Url(endpoint);
            case EndpointReferenceExpression expression:
                return Property(expression);
            case ReferenceExpression expression when expression.ValueProviders.Count == 0 && expression.Format.Length == 0:
                // A conditional part (e.g. ",ssl=true" when TLS is on): the cluster's databases are reached without TLS.
                return "";
            case ReferenceExpression expression:
                var parts = new object[expression.ValueProviders.Count];
                for (var i = 0; i < parts.Length; i++)
                {
                    parts[i] = await RenderAsync(expression.ValueProviders[i], secrets, ct).ConfigureAwait(false);
                }

                return string.Format(CultureInfo.InvariantCulture, expression.Format, parts);
            case IValueProvider provider:
                return await provider.GetValueAsync(ct).ConfigureAwait(false) ?? "";
            default:
                return Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        }
    }

    private static string Url(EndpointReference endpoint) =>
        $"{(endpoint.Resource is ProjectResource ? "http" : endpoint.EndpointAnnotation.UriScheme)}://{endpoint.Resource.Name}:{Port(endpoint)}";

    private static string Property(EndpointReferenceExpression expression) => expression.Property switch
    {
        EndpointProperty.Url => Url(expression.Endpoint),
        EndpointProperty.Host or EndpointProperty.IPV4Host => expression.Endpoint.Resource.Name,
        EndpointProperty.Port or EndpointProperty.TargetPort => Port(expression.Endpoint).ToString(CultureInfo.InvariantCulture),
        EndpointProperty.HostAndPort => $"{expression.Endpoint.Resource.Name}:{Port(expression.Endpoint)}",
        EndpointProperty.Scheme => expression.Endpoint.Resource is ProjectResource ? "http" : expression.Endpoint.EndpointAnnotation.UriScheme,
        _ => "",
    };

    private static int Port(EndpointReference endpoint) =>
        endpoint.Resource is ProjectResource ? KubernetesPublisher.ContainerPort : endpoint.EndpointAnnotation.TargetPort ?? 0;

    private static string Image(string project) => $"llmgateway/{project}";

    /// <summary>Whether the resource is part of a deployment (Aspire's hidden helpers are excluded from publishing).</summary>
    private static bool Published(IResource resource) =>
        !resource.TryGetLastAnnotation<ManifestPublishingCallbackAnnotation>(out var callback) || callback != ManifestPublishingCallbackAnnotation.Ignore;

    private static string Variable(string name) => name.ToUpperInvariant().Replace('-', '_');

    private static Dictionary<string, object> SecretVariable(string variable, string key) => new()
    {
        ["name"] = variable,
        ["valueFrom"] = new Dictionary<string, object>
        {
            ["secretKeyRef"] = new Dictionary<string, object> { ["name"] = KubernetesPublisher.ParametersSecret, ["key"] = key },
        },
    };

    private static Dictionary<string, object> Metadata(string name, Dictionary<string, string> labels) =>
        new() { ["name"] = name, ["labels"] = labels };

    private static Dictionary<string, object> Probe(string path, int period) => new()
    {
        ["httpGet"] = new Dictionary<string, object> { ["path"] = path, ["port"] = "http" },
        ["periodSeconds"] = period,
        ["timeoutSeconds"] = 3,
        ["failureThreshold"] = 3,
    };

    private static string Documents(IEnumerable<object> documents) =>
        string.Join("---\n", documents.Select(d => Yaml.Serialize(d)));

    private string Readme()
    {
        var secrets = model.Resources.OfType<ParameterResource>().Where(p => p.Secret).Select(p => p.Name).ToList();
        var text = new StringBuilder()
            .AppendLine("# LLM Gateway on Kubernetes")
            .AppendLine()
            .AppendLine("Written from the AppHost's model by `dotnet run --project AppHost -- --publisher kubernetes --output-path <this folder>`.")
            .AppendLine()
            .AppendLine("1. Build and push the images (`llmgateway/<service>`; the .NET SDK builds them without Docker:")
            .AppendLine("   `dotnet publish <Service> -c Release /t:PublishContainer -p ContainerRegistry=<registry>`), then point")
            .AppendLine("   kustomize at them: `kustomize edit set image llmgateway/gateway=<registry>/llmgateway/gateway:<tag>` (and so on).")
            .AppendLine($"2. Create the Secret `{KubernetesPublisher.ParametersSecret}` with one key per parameter:")
            .AppendLine()
            .Append("       kubectl create secret generic ").Append(KubernetesPublisher.ParametersSecret);
        foreach (var secret in secrets)
        {
            text.Append(" \\\n         --from-literal=").Append(secret).Append("=<value>");
        }

        text.AppendLine().AppendLine();
        if (externalDatabases)
        {
            text.AppendLine($"   and `{KubernetesPublisher.ConnectionsSecret}` with the connection strings of your Redis (`redis`) and PostgreSQL database (`llmgateway`).");
        }

        return text
            .AppendLine("3. `kubectl apply -k <this folder>`.")
            .AppendLine()
            .AppendLine("Secret values never appear in these files: containers read them with `secretKeyRef`, and connection strings are")
            .AppendLine("composed by Kubernetes from those variables (`$(SECRET_…)`).")
            .ToString();
    }

    private sealed record SecretReference(string Variable, string Secret, string Key);

    private sealed record Rendered(string Text, List<SecretReference> Secrets);
}
