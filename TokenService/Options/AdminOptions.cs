namespace LlmGateway.TokenService.Options;

/// <summary>Configuration section <c>Admin</c>.</summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>
    /// The operator's bootstrap admin key (AppHost parameter <c>admin-key</c>, env <c>Admin__BootstrapKey</c>). Any string the
    /// operator chose works as an admin credential; a gateway-format <c>lgw_adm_…</c> key is recommended, because the key's
    /// SHA-256 is stored and projected like every other credential's, and a short human-chosen value is guessable from it.
    /// </summary>
    public string? BootstrapKey { get; set; }
}
