using Microsoft.Extensions.Options;

namespace LlmGateway.UpstreamSimulator.Tests;

public sealed class StartupTests
{
    [Theory]
    [InlineData("--Simulator:WordsPerDelta", "0", "Simulator:WordsPerDelta must be >= 1")]
    [InlineData("--Simulator:MaxRecordedRequests", "0", "Simulator:MaxRecordedRequests must be >= 1")]
    [InlineData("--Simulator:DefaultOutputTokens", "-3", "Simulator:DefaultOutputTokens must be >= 0")]
    public void Invalid_settings_stop_the_simulator_before_it_listens(string key, string value, string message)
    {
        var error = Assert.Throws<OptionsValidationException>(() => SimulatorApp.Create(["--urls", "http://127.0.0.1:0", key, value]));

        Assert.Contains(message, error.Failures);
    }
}
