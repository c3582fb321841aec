namespace LlmGateway.UsageWorker.Authentication;

/// <summary>Configuration section <c>Admin</c>.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Admin";

    /// <summary>
    /// The operator's bootstrap admin key (any string). Accepted as an admin credential even before TokenService has
    /// projected it to Redis; compared by hash, in constant time.
    /// </summary>
    public string? BootstrapKey { get; set; }
}
