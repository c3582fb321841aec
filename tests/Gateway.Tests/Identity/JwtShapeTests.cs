using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;

namespace LlmGateway.Gateway.Tests.Identity;

public sealed class JwtShapeTests
{
    [Fact]
    public void Gateway_credentials_are_never_taken_for_jwts()
    {
        foreach (var kind in new[] { CredentialKind.ApiKey, CredentialKind.AgentToken, CredentialKind.DeviceToken, CredentialKind.AdminKey })
        {
            Assert.False(JwtShape.IsJwt(CredentialFormat.Generate(kind)));
        }
    }

    [Theory]
    [InlineData("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl", true)] // {"alg":"RS256","kid":"k1"}
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", true)] // alg none, empty signature: a JWT, refused later with its reason
    [InlineData("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ1MSJ9.c2ln", false)] // {"typ":"JWT"}: no alg
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln.eHg", false)] // four segments
    [InlineData("eyJhbGciOiJSUzI1NiJ9..c2ln", false)] // empty payload
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9+.c2ln", false)] // not base64url
    [InlineData("bm90IGpzb24.eyJzdWIiOiJ1MSJ9.c2ln", false)] // header is not JSON
    [InlineData("sk_live_0123456789abcdef0123", false)]
    public void A_jwt_is_three_base64url_segments_with_a_json_header_naming_alg(string value, bool expected) =>
        Assert.Equal(expected, JwtShape.IsJwt(value));
}
