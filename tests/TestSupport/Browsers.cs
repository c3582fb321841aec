using Microsoft.Playwright;

namespace LlmGateway.Testing;

/// <summary>Headless Chromium from the Debian package (no browser download works on the build machines).</summary>
public static class Browsers
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static BrowserTypeLaunchOptions Chromium => new()
    {
        ExecutablePath = ChromiumPath,
        Headless = true,
        // Without the background-networking flags Chromium keeps trying to reach Google's hosts, which the closed
        // network refuses.
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    };
}
