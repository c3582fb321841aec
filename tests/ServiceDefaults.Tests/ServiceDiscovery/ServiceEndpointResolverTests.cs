using LlmGateway.ServiceDefaults.ServiceDiscovery;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.ServiceDefaults.Tests.ServiceDiscovery;

public sealed class ServiceEndpointResolverTests
{
    private static ServiceEndpointResolver Resolver(params (string Key, string Value)[] settings) =>
        new(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void An_http_name_resolves_from_its_http_endpoint_keeping_path_and_query()
    {
        using var resolver = Resolver(("services:tokenservice:http:0", "http://localhost:5123"));

        Assert.Equal(new Uri("http://localhost:5123/v1/tokens?scope=a%20b"), resolver.Resolve("http://tokenservice/v1/tokens?scope=a%20b"));
    }

    [Fact]
    public void Environment_variable_form_is_the_same_configuration()
    {
        const string variable = "services__ServiceDefaultsTestsEnv__http__0";
        Environment.SetEnvironmentVariable(variable, "http://127.0.0.1:6001");
        try
        {
            using var resolver = new ServiceEndpointResolver(new ConfigurationBuilder().AddEnvironmentVariables().Build());
            Assert.Equal(new Uri("http://127.0.0.1:6001/x"), resolver.Resolve("http://servicedefaultstestsenv/x"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void Https_plus_http_prefers_https_when_configured()
    {
        using var resolver = Resolver(
            ("services:catalog:http:0", "http://localhost:5000"),
            ("services:catalog:https:0", "https://localhost:5001"));

        Assert.Equal(new Uri("https://localhost:5001/items"), resolver.Resolve("https+http://catalog/items"));
    }

    [Fact]
    public void Https_plus_http_falls_back_to_http()
    {
        using var resolver = Resolver(("services:catalog:http:0", "http://localhost:5000"));

        Assert.Equal(new Uri("http://localhost:5000/items"), resolver.Resolve("https+http://catalog/items"));
    }

    [Fact]
    public void The_default_endpoint_wins_over_scheme_named_endpoints()
    {
        using var resolver = Resolver(
            ("services:catalog:default:0", "http://default-host:7000"),
            ("services:catalog:http:0", "http://localhost:5000"));

        Assert.Equal(new Uri("http://default-host:7000/"), resolver.Resolve("http://catalog/"));
    }

    [Fact]
    public void Among_uri_values_only_the_most_preferred_scheme_is_used()
    {
        using var resolver = Resolver(
            ("services:catalog:default:0", "http://plain:80"),
            ("services:catalog:default:1", "https://secure:443"));

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(new Uri("https://secure/a"), resolver.Resolve("https+http://catalog/a"));
        }
    }

    [Fact]
    public void An_endpoint_name_selects_that_endpoint_only()
    {
        using var resolver = Resolver(
            ("services:tokenservice:http:0", "http://localhost:5123"),
            ("services:tokenservice:admin:0", "http://localhost:5999"));

        Assert.Equal(new Uri("http://localhost:5999/users"), resolver.Resolve("http://_admin.tokenservice/users"));
    }

    [Fact]
    public void A_single_value_section_works_like_a_one_element_list()
    {
        using var resolver = Resolver(("services:tokenservice:http", "http://localhost:5123"));

        Assert.Equal(new Uri("http://localhost:5123/x"), resolver.Resolve("http://tokenservice/x"));
    }

    [Fact]
    public void A_host_port_value_keeps_the_request_scheme()
    {
        using var resolver = Resolver(("services:cache:default:0", "cache-1.internal:8080"));

        Assert.Equal(new Uri("http://cache-1.internal:8080/k?v=1"), resolver.Resolve("http://cache/k?v=1"));
        Assert.Equal(new Uri("https://cache-1.internal:8080/k"), resolver.Resolve("https+http://cache/k"));
    }

    [Fact]
    public void A_host_value_without_port_keeps_the_request_port()
    {
        using var resolver = Resolver(("services:cache:default:0", "cache-1.internal"));

        Assert.Equal(new Uri("http://cache-1.internal:9000/k"), resolver.Resolve("http://cache:9000/k"));
    }

    [Fact]
    public void An_ip_host_port_value_is_accepted()
    {
        using var resolver = Resolver(("services:cache:default:0", "[::1]:6000"), ("services:other:default:0", "10.0.0.7:81"));

        Assert.Equal(new Uri("http://[::1]:6000/k"), resolver.Resolve("http://cache/k"));
        Assert.Equal(new Uri("http://10.0.0.7:81/k"), resolver.Resolve("http://other/k"));
    }

    [Fact]
    public void The_endpoint_path_prefix_is_put_in_front_of_the_request_path()
    {
        using var resolver = Resolver(("services:api:http:0", "http://localhost:5000/base/"));

        Assert.Equal(new Uri("http://localhost:5000/base/v1/items?q=1"), resolver.Resolve("http://api/v1/items?q=1"));
    }

    [Fact]
    public void Several_values_are_used_round_robin()
    {
        using var resolver = Resolver(
            ("services:worker:http:0", "http://w0:1"),
            ("services:worker:http:1", "http://w1:1"),
            ("services:worker:http:2", "http://w2:1"));

        var hosts = Enumerable.Range(0, 7).Select(_ => resolver.Resolve("http://worker/").Host).ToArray();

        Assert.Equal(["w0", "w1", "w2", "w0", "w1", "w2", "w0"], hosts);
    }

    [Fact]
    public void Numbered_values_are_ordered_numerically()
    {
        using var resolver = Resolver(
            ("services:worker:http:10", "http://w10:1"),
            ("services:worker:http:2", "http://w2:1"));

        Assert.Equal(["w2", "w10"], resolver.GetEndpoints(new Uri("http://worker")).Select(e => e.Host));
    }

    [Fact]
    public void An_unconfigured_name_passes_through_unchanged()
    {
        using var resolver = Resolver(("services:other:http:0", "http://localhost:1"));
        var uri = new Uri("http://tokenservice:8080/v1/x?y=1");

        Assert.Same(uri, resolver.Resolve(uri));
        Assert.Equal(new Uri("https://api.anthropic.com/v1/messages"), resolver.Resolve("https://api.anthropic.com/v1/messages"));
    }

    [Fact]
    public void An_unconfigured_multi_scheme_name_passes_through_with_its_first_scheme()
    {
        using var resolver = Resolver();

        Assert.Equal(new Uri("https://tokenservice/v1/x?y=1"), resolver.Resolve("https+http://tokenservice/v1/x?y=1"));
        Assert.Equal(new Uri("https://tokenservice:8443/"), resolver.Resolve("https+http://tokenservice:8443/"));
    }

    [Fact]
    public void An_unconfigured_endpoint_name_passes_through_as_the_bare_service_name()
    {
        using var resolver = Resolver();

        Assert.Equal(new Uri("http://tokenservice:81/x"), resolver.Resolve("http://_admin.tokenservice:81/x"));
    }

    [Fact]
    public void A_configured_service_without_a_matching_endpoint_passes_through()
    {
        using var resolver = Resolver(("services:tokenservice:grpc:0", "http://localhost:7000"));

        Assert.Equal(new Uri("http://tokenservice/x"), resolver.Resolve("http://tokenservice/x"));
    }

    [Fact]
    public void Ip_literals_are_never_looked_up()
    {
        using var resolver = Resolver(("services:127.0.0.1:http:0", "http://elsewhere:1"));

        Assert.Equal(new Uri("http://127.0.0.1:5000/x"), resolver.Resolve("http://127.0.0.1:5000/x"));
    }

    [Fact]
    public void Service_names_are_case_insensitive()
    {
        using var resolver = Resolver(("services:TokenService:HTTP:0", "http://localhost:5123"));

        Assert.Equal(new Uri("http://localhost:5123/x"), resolver.Resolve("http://tokenservice/x"));
    }

    [Fact]
    public void A_bad_value_is_reported_with_its_configuration_key()
    {
        using var resolver = Resolver(("services:tokenservice:http:0", "http://"));

        var exception = Assert.Throws<InvalidOperationException>(() => resolver.Resolve("http://tokenservice/x"));

        Assert.Contains("services:tokenservice:http:0", exception.Message);
    }

    [Fact]
    public void Non_numeric_keys_are_reported()
    {
        using var resolver = Resolver(("services:tokenservice:http:primary", "http://localhost:1"));

        var exception = Assert.Throws<InvalidOperationException>(() => resolver.Resolve("http://tokenservice/x"));

        Assert.Contains("services:tokenservice:http", exception.Message);
        Assert.Contains("primary", exception.Message);
    }

    [Fact]
    public void A_configuration_reload_is_picked_up()
    {
        var source = new Dictionary<string, string?> { ["services:tokenservice:http:0"] = "http://old:1" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(source).Build();
        using var resolver = new ServiceEndpointResolver(configuration);
        Assert.Equal("old", resolver.Resolve("http://tokenservice/").Host);

        configuration["services:tokenservice:http:0"] = "http://new:1";
        configuration.Reload();

        Assert.Equal("new", resolver.Resolve("http://tokenservice/").Host);
    }

    [Fact]
    public void Relative_uris_are_rejected()
    {
        using var resolver = Resolver();

        Assert.Throws<ArgumentException>(() => resolver.Resolve(new Uri("/relative", UriKind.Relative)));
    }
}
