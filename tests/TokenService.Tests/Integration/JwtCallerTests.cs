using System.Net;

namespace LlmGateway.TokenService.Tests.Integration;

/// <summary>People signed in with a JWT of a configured issuer, on TokenService's admin API and <c>/v1/tokens</c>.</summary>
[Collection(TokenServiceCollection.Name)]
public sealed class JwtCallerTests(TokenServiceApp service)
{
    private static string Person() => "person-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task An_admin_jwt_uses_the_admin_api_and_is_the_audited_actor()
    {
        var person = Person();
        var token = service.Issuer.CreateToken(person, "admin");

        var created = await service.SendAsync(HttpMethod.Post, "/admin/credentials", """{"owner":{"type":"organization","id":"jwt-org"}}""", token, bearer: true);

        created.AssertStatus(HttpStatusCode.Created);
        service.Secrets.Add(created.Body.GetProperty("secret").GetString()!);
        var id = created.Body.GetProperty("id").GetString()!;
        var audit = await service.AdminAsync(HttpMethod.Get, $"/admin/audit?target={id}");
        var entry = Assert.Single(audit.Body.GetProperty("data").EnumerateArray());
        Assert.Equal($"oidc:test:{person}", entry.GetProperty("actor_id").GetString());

        // A person is never a stored credential.
        var user = await service.AdminAsync(HttpMethod.Post, "/admin/credentials", """{"kind":"user","owner":{"type":"user","id":"u1"}}""");
        Assert.Contains("kind user", user.AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("member")]
    [InlineData("viewer")]
    public async Task A_jwt_without_the_admin_role_is_refused_the_admin_api(string role)
    {
        var response = await service.SendAsync(HttpMethod.Get, "/admin/credentials?limit=1", credential: service.Issuer.CreateToken(Person(), role), bearer: true);

        Assert.Contains("admin role", response.AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_jwt_is_refused_saying_so_and_a_garbage_one_stays_plain_invalid()
    {
        var expired = await service.SendAsync(HttpMethod.Get, "/admin/credentials?limit=1",
            credential: service.Issuer.CreateToken(Person(), "admin", expires: DateTimeOffset.UtcNow.AddMinutes(-5)), bearer: true);
        Assert.Contains("expired", expired.AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);

        var garbage = await service.SendAsync(HttpMethod.Get, "/admin/credentials?limit=1", credential: "eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln", bearer: true);
        Assert.Equal("The credential is not valid.", garbage.AssertError(HttpStatusCode.Unauthorized, "authentication_error"));
    }

    [Fact]
    public async Task A_member_mints_an_agent_token_owned_by_them_and_bounded_by_their_limits()
    {
        var person = Person();
        var response = await service.MintAsync(service.Issuer.CreateToken(person, "member", organization: "org_mint"), """{"ttl":"1h","agent_name":"helper"}""");

        response.AssertStatus(HttpStatusCode.OK);
        var projection = await service.ProjectionAsync(response.Body.GetProperty("token").GetString()!);
        var userId = $"oidc:test:{person}";
        Assert.Equal("user", projection!.Owner.Type);
        Assert.Equal(userId, projection.Owner.Id);
        Assert.Equal("org_mint", projection.Owner.OrganizationId);
        var ancestor = Assert.Single(projection.Ancestors!);
        Assert.Equal(userId, ancestor.Id);
        Assert.Equal(60, ancestor.Limits.RequestsPerMinute);

        var viewer = await service.MintAsync(service.Issuer.CreateToken(Person(), "viewer"), """{"ttl":"1h"}""");
        Assert.Contains("member or admin role", viewer.AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
    }
}
