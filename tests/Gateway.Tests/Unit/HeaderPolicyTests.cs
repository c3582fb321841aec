using System.Net;
using LlmGateway.Gateway.Forwarding;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Unit;

public class HeaderPolicyTests
{
    [Fact]
    public void Upstream_gets_every_end_to_end_header_but_the_callers_credentials_and_the_real_key()
    {
        var source = new HeaderDictionary
        {
            ["x-api-key"] = "lgw_key_caller",
            ["Authorization"] = "Bearer lgw_key_caller",
            ["Cookie"] = "session=1",
            ["anthropic-version"] = "2023-06-01",
            ["anthropic-beta"] = new[] { "oauth-2025-04-20", "context-management-2025-06-27" },
            ["anthropic-dangerous-direct-browser-access"] = "true",
            ["x-stainless-retry-count"] = "0",
            ["x-sim-ttft-ms"] = "5",
            ["User-Agent"] = "Anthropic/CSharp 13.11.0",
            ["Content-Type"] = "application/json",
            ["Content-Length"] = "17",
            ["Connection"] = "keep-alive, x-hop",
            ["x-hop"] = "1",
            ["Keep-Alive"] = "timeout=5",
            ["Transfer-Encoding"] = "chunked",
            ["Accept-Encoding"] = "gzip",
            ["Host"] = "gateway.local",
            ["X-Forwarded-For"] = "10.0.0.1",
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, "http://upstream/v1/messages") { Content = new ByteArrayContent([]) };

        HeaderPolicy.CopyToUpstream(source, message, "sk-ant-real");

        Assert.Equal(["sk-ant-real"], message.Headers.GetValues("x-api-key"));
        Assert.False(message.Headers.Contains("Authorization"));
        Assert.False(message.Headers.Contains("Cookie"));
        Assert.Equal(["oauth-2025-04-20", "context-management-2025-06-27"], message.Headers.NonValidated["anthropic-beta"]);
        Assert.Equal("2023-06-01", message.Headers.NonValidated["anthropic-version"].ToString());
        Assert.Equal("true", message.Headers.NonValidated["anthropic-dangerous-direct-browser-access"].ToString());
        Assert.Equal("0", message.Headers.NonValidated["x-stainless-retry-count"].ToString());
        Assert.Equal("5", message.Headers.NonValidated["x-sim-ttft-ms"].ToString());
        Assert.Equal("Anthropic/CSharp 13.11.0", message.Headers.NonValidated["User-Agent"].ToString());
        Assert.Equal("application/json", message.Content.Headers.ContentType!.MediaType);
        foreach (var hop in new[] { "Connection", "x-hop", "Keep-Alive", "Transfer-Encoding", "Accept-Encoding", "Host", "X-Forwarded-For" })
        {
            Assert.False(message.Headers.NonValidated.Contains(hop), hop);
        }
    }

    [Fact]
    public void Without_a_configured_key_no_key_is_invented()
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "http://upstream/v1/models");
        HeaderPolicy.CopyToUpstream(new HeaderDictionary { ["x-api-key"] = "caller" }, message, null);
        Assert.False(message.Headers.Contains("x-api-key"));
    }

    [Fact]
    public void Control_plane_keeps_the_callers_credentials_and_records_where_the_call_came_from()
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("gw.example.com");
        context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.9");
        context.Request.Headers["Authorization"] = "Bearer bootstrap-admin-secret";
        context.Request.Headers["x-api-key"] = "lgw_key_x";
        context.Request.Headers["X-Forwarded-For"] = "198.51.100.1";
        context.Request.Headers["X-Forwarded-Proto"] = "http";
        context.Request.Headers["Connection"] = "close";
        using var message = new HttpRequestMessage(HttpMethod.Post, "http://tokenservice/v1/tokens");

        HeaderPolicy.CopyToControlPlane(context, message, "req_1");

        Assert.Equal("Bearer bootstrap-admin-secret", message.Headers.NonValidated["Authorization"].ToString());
        Assert.Equal("lgw_key_x", message.Headers.NonValidated["x-api-key"].ToString());
        Assert.Equal("198.51.100.1, 203.0.113.9", message.Headers.NonValidated["X-Forwarded-For"].ToString());
        Assert.Equal("https", message.Headers.NonValidated["X-Forwarded-Proto"].ToString());
        Assert.Equal("gw.example.com", message.Headers.NonValidated["X-Forwarded-Host"].ToString());
        Assert.Equal("req_1", message.Headers.NonValidated["request-id"].ToString());
        Assert.False(message.Headers.NonValidated.Contains("Connection"));
    }

    [Fact]
    public void Responses_keep_their_headers_except_hop_by_hop_cookies_and_the_upstream_request_id()
    {
        using var upstream = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([1, 2, 3]) };
        upstream.Headers.TryAddWithoutValidation("request-id", "req_upstream");
        upstream.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-remaining", "99");
        upstream.Headers.TryAddWithoutValidation("retry-after", "3");
        upstream.Headers.TryAddWithoutValidation("Set-Cookie", "__cf_bm=1");
        upstream.Headers.TryAddWithoutValidation("Connection", "keep-alive");
        upstream.Headers.TryAddWithoutValidation("Transfer-Encoding", "chunked");
        upstream.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        var context = new DefaultHttpContext();

        HeaderPolicy.CopyToClient(upstream, context.Response, fromModelProvider: true);

        var headers = context.Response.Headers;
        Assert.Equal("99", headers["anthropic-ratelimit-requests-remaining"]);
        Assert.Equal("3", headers["retry-after"]);
        Assert.Equal("application/json", headers.ContentType);
        Assert.Equal(3, context.Response.ContentLength);
        Assert.Equal("req_upstream", headers["upstream-request-id"]);
        Assert.False(headers.ContainsKey("request-id"));
        Assert.False(headers.ContainsKey("Set-Cookie"));
        Assert.False(headers.ContainsKey("Connection"));
        Assert.False(headers.ContainsKey("Transfer-Encoding"));
    }
}
