using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Text;
using Anthropic;
using Anthropic.Core;
using Microsoft.AspNetCore.Builder;
using OpenAI;
using OpenAI.Chat;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>
/// Hosts the simulator in-process on 127.0.0.1 with a free port, requiring <see cref="ApiKey"/>, and hands out
/// clients: the official Anthropic and OpenAI SDKs and a raw <see cref="HttpClient"/>.
/// </summary>
public class SimulatorFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-ant-sim-test-0123456789";
    public const string AnthropicVersion = "2023-06-01";

    private WebApplication? app;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Extra <c>--key value</c> configuration arguments for derived fixtures.</summary>
    protected virtual string[] Settings => ["--Simulator:ExpectedApiKey", ApiKey];

    public async Task InitializeAsync()
    {
        app = SimulatorApp.Create(["--urls", "http://127.0.0.1:0", .. Settings]);
        await app.StartAsync();
        BaseAddress = new Uri(app.Urls.Single());
        // A disposed, partly read response closes its connection at once instead of draining it (the default
        // waits up to 2 s), so a test that walks away mid-stream is seen by the simulator immediately.
        var handler = new SocketsHttpHandler { ResponseDrainTimeout = TimeSpan.Zero };
        Http = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    public AnthropicClient Anthropic(IReadOnlyDictionary<string, string>? headers = null, string apiKey = ApiKey) => new(new ClientOptions
    {
        ApiKey = apiKey,
        BaseUrl = BaseAddress.ToString().TrimEnd('/'),
        MaxRetries = 0,
        Timeout = TimeSpan.FromSeconds(30),
        ExtraHeaders = headers ?? new Dictionary<string, string>(),
    });

    public OpenAIClientOptions OpenAiOptions(IReadOnlyDictionary<string, string>? headers = null)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        };
        if (headers is not null)
        {
            options.AddPolicy(new HeaderPolicy(headers), PipelinePosition.PerCall);
        }

        return options;
    }

    public ChatClient OpenAiChat(string model = "gpt-4o-mini", IReadOnlyDictionary<string, string>? headers = null, string apiKey = ApiKey) =>
        new(model, new ApiKeyCredential(apiKey), OpenAiOptions(headers));

    /// <summary>A POST with the Anthropic headers (key, version) unless told otherwise.</summary>
    public HttpRequestMessage AnthropicPost(string path, string json, bool withKey = true, bool withVersion = true, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (withKey)
        {
            request.Headers.Add("x-api-key", ApiKey);
        }

        if (withVersion)
        {
            request.Headers.Add("anthropic-version", AnthropicVersion);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public HttpRequestMessage OpenAiPost(string json, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private sealed class HeaderPolicy(IReadOnlyDictionary<string, string> headers) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Apply(PipelineMessage message)
        {
            foreach (var (name, value) in headers)
            {
                message.Request.Headers.Set(name, value);
            }
        }
    }
}

/// <summary>A simulator that accepts any key, with small limits (4 KiB bodies, 2 remembered tags).</summary>
public sealed class OpenSimulatorFixture : SimulatorFixture
{
    protected override string[] Settings =>
    [
        "--Simulator:MaxRequestBodyBytes", "4096",
        "--Simulator:MaxRecordedRequests", "2",
        "--Simulator:DefaultOutputTokens", "5",
        "--Simulator:OrganizationId", "",
    ];
}
