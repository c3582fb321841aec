using LlmGateway.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Tests.Identity;

public sealed class IdentityOptionsTests
{
    private static IdentityOptions Bind(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddJwtCallers(configuration);
        return services.BuildServiceProvider().GetRequiredService<IOptions<IdentityOptions>>().Value;
    }

    [Fact]
    public void An_issuer_without_keys_audience_or_a_known_role_is_refused_at_start_up_naming_each_mistake()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new()
        {
            ["Identity:Issuers:corp:Issuer"] = "https://corp.example",
            ["Identity:Issuers:corp:AllowedRoles:0"] = "owner",
            ["Identity:Issuers:corp:AutomaticRefreshInterval"] = "00:01:00",
        }));

        Assert.Contains(error.Failures, f => f.Contains("needs Authority, MetadataAddress or JwksUrl", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Audience is required", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("'owner' is not one of viewer, member, admin", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("AutomaticRefreshInterval must be at least 5 minutes", StringComparison.Ordinal));
    }

    [Fact]
    public void Defaults_follow_the_seed_sub_org_id_role_and_60_requests_a_minute_per_person()
    {
        var options = Bind(new()
        {
            ["Identity:Issuers:authkit:JwksUrl"] = "https://api.workos.com/sso/jwks/client_1",
            ["Identity:Issuers:authkit:Issuer"] = "https://api.workos.com",
            ["Identity:Issuers:authkit:Audience"] = "client_1",
        });

        var issuer = options.Issuers["authkit"];
        Assert.Equal(("sub", "org_id", "role"), (issuer.UserClaim, issuer.OrganizationClaim, issuer.RoleClaim));
        Assert.Equal(IdentityRoles.Viewer, issuer.DefaultRole);
        Assert.True(issuer.Allows(IdentityRoles.Admin));
        Assert.Equal(60, options.UserLimits.RequestsPerMinute);
    }
}
