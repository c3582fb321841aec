using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Credentials;

internal enum CredentialLookupStatus
{
    /// <summary>The credential exists and is active (it may still be expired: check the projection).</summary>
    Found,

    /// <summary>The credential does not exist or was revoked.</summary>
    NotFound,

    /// <summary>No source could answer (Redis and TokenService both unreachable) and nothing usable was cached.</summary>
    Unavailable,
}

internal readonly record struct CredentialLookup(CredentialLookupStatus Status, CredentialProjection? Projection)
{
    public static readonly CredentialLookup NotFound = new(CredentialLookupStatus.NotFound, null);
    public static readonly CredentialLookup Unavailable = new(CredentialLookupStatus.Unavailable, null);

    public static CredentialLookup Found(CredentialProjection projection) => new(CredentialLookupStatus.Found, projection);
}
