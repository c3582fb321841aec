namespace LlmGateway.Identity;

/// <summary>
/// The roles a person can hold (seed 001): <see cref="Viewer"/> reads usage and stats of their organization,
/// <see cref="Member"/> also calls the model API and manages their own keys and agent tokens, <see cref="Admin"/>
/// everything. Each role includes the ones before it.
/// </summary>
public static class IdentityRoles
{
    public const string Viewer = "viewer";
    public const string Member = "member";
    public const string Admin = "admin";

    /// <summary>0 for an unknown role, then viewer &lt; member &lt; admin.</summary>
    public static int Rank(string? role) => role switch
    {
        Viewer => 1,
        Member => 2,
        Admin => 3,
        _ => 0,
    };

    public static bool IsKnown(string? role) => Rank(role) > 0;

    /// <summary>True when <paramref name="role"/> includes everything <paramref name="needed"/> may do.</summary>
    public static bool Includes(string? role, string needed) => Rank(role) >= Rank(needed) && Rank(needed) > 0;
}
