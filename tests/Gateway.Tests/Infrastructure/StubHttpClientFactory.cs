using System.Net;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>An IHttpClientFactory whose clients answer from a function (stands in for TokenService).</summary>
public sealed class StubHttpClientFactory(Func<HttpRequestMessage, Task<HttpResponseMessage>> answer) : IHttpClientFactory
{
    public int Calls;

    public HttpClient CreateClient(string name) =>
        new(new Handler(this, answer), disposeHandler: true) { BaseAddress = new Uri("http://tokenservice") };

    public static StubHttpClientFactory Unreachable() =>
        new(_ => throw new HttpRequestException("connection refused", null, HttpStatusCode.ServiceUnavailable));

    private sealed class Handler(StubHttpClientFactory owner, Func<HttpRequestMessage, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner.Calls);
            return answer(request);
        }
    }
}
