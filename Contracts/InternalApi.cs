using System.Security.Cryptography;
using System.Text;

namespace LlmGateway.Contracts;

/// <summary>
/// TokenService's <c>/internal/*</c> routes (introspection) answer only callers that present the key the AppHost
/// generates for the services (parameter <c>internal-api-key</c>, configuration <c>Internal:ApiKey</c>), in
/// <see cref="HeaderName"/>. The Gateway never forwards <c>/internal/*</c> either; this key keeps the routes closed even
/// to a request that reaches TokenService some other way (a forwarding bug, a misconfigured ingress).
/// </summary>
public static class InternalApi
{
    public const string HeaderName = "x-internal-key";

    public const string ConfigurationKey = "Internal:ApiKey";

    /// <summary>Whether <paramref name="presented"/> is the configured key, compared in constant time.</summary>
    public static bool IsValid(string? configured, string? presented) =>
        !string.IsNullOrEmpty(configured)
        && presented is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(configured), Encoding.UTF8.GetBytes(presented));
}

/// <summary>
/// The <c>error.type</c> of introspection's 404 for a credential TokenService knows but refuses, so the Gateway can say
/// why (an unknown credential is <see cref="Unknown"/> and stays a plain "invalid").
/// </summary>
public static class IntrospectionRefusals
{
    public const string Unknown = "not_found";
    public const string Revoked = "revoked";
    public const string Expired = "expired";
    public const string Replaced = "replaced";
}
