using LlmGateway.TokenService.UpstreamOAuth;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class PkceTests
{
    [Fact]
    public void The_challenge_is_the_RFC_7636_S256_of_the_verifier()
    {
        // RFC 7636 appendix B.
        Assert.Equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Pkce.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }

    [Fact]
    public void Verifiers_and_states_are_unpredictable_and_url_safe()
    {
        var verifiers = Enumerable.Range(0, 100).Select(_ => Pkce.NewVerifier()).ToList();
        Assert.Equal(100, verifiers.Distinct().Count());
        Assert.All(verifiers, v =>
        {
            Assert.InRange(v.Length, 43, 128);
            Assert.All(v, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
        });
        Assert.NotEqual(Pkce.NewState(), Pkce.NewState());
    }

    [Theory]
    [InlineData("abc#st1", null, "abc", "st1")]
    [InlineData("abc", "st1", "abc", "st1")]
    [InlineData(" abc#st1 ", "st1", "abc", "st1")]
    public void A_pasted_code_may_carry_its_state(string pasted, string? state, string code, string expectedState)
    {
        Assert.True(Pkce.TryReadCallback(pasted, state, out var c, out var s, out var error), error);
        Assert.Equal(code, c);
        Assert.Equal(expectedState, s);
    }

    [Theory]
    [InlineData("abc#st1", "other")]
    [InlineData("abc", null)]
    [InlineData("#st1", null)]
    [InlineData(null, "st1")]
    public void A_callback_without_a_code_or_with_conflicting_states_is_refused(string? pasted, string? state)
    {
        Assert.False(Pkce.TryReadCallback(pasted, state, out _, out _, out var error));
        Assert.NotNull(error);
    }
}
