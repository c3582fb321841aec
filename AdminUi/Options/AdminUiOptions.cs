namespace LlmGateway.AdminUi.Options;

/// <summary>Settings of the admin UI (section <c>AdminUi</c>), validated at start-up by <see cref="AdminUiOptionsValidation"/>.</summary>
public sealed class AdminUiOptions
{
    public const string Section = "AdminUi";

    /// <summary>
    /// Where every API is called: the gateway's public address, which serves the control-plane routes and hands
    /// <c>/admin/*</c> to TokenService and the UsageWorker. A service name resolves through service discovery.
    /// </summary>
    public Uri GatewayUrl { get; set; } = new("http://gateway");

    /// <summary>How long a sign-in lasts (the session cookie's lifetime, not renewed by activity).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long one page waits for an API before it says the API did not answer.</summary>
    public TimeSpan ApiTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Where the Data Protection key ring is kept (it encrypts the session and antiforgery cookies). Unset: the
    /// framework's default folder for the user. Several replicas must share one folder (a volume), or sessions signed
    /// in on one replica are not readable on another.
    /// </summary>
    public string? DataProtectionKeysDirectory { get; set; }
}
