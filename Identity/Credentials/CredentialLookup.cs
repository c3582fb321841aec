using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Identity.Credentials;

/// <summary>What a credential source (<see cref="RedisCredentialStore"/>, <see cref="TokenServiceIntrospection"/>) says of a hash.</summary>
public enum CredentialLookupStatus
{
    /// <summary>The credential exists and is active (it may still be expired: check the projection).</summary>
    Found,

    /// <summary>The credential does not exist or was revoked.</summary>
    NotFound,

    /// <summary>No source could answer (Redis and TokenService both unreachable) and nothing usable was cached.</summary>
    Unavailable,
}

/// <summary>Why TokenService refuses a credential it knows (an unknown one is <see cref="Unknown"/>: no reason is given).</summary>
public enum CredentialRefusal
{
    Unknown,
    Revoked,
    Expired,

    /// <summary>A device token that a refresh replaced.</summary>
    Replaced,
}

public readonly record struct CredentialLookup(CredentialLookupStatus Status, CredentialProjection? Projection, CredentialRefusal Refusal = CredentialRefusal.Unknown)
{
    public static readonly CredentialLookup NotFound = new(CredentialLookupStatus.NotFound, null);
    public static readonly CredentialLookup Unavailable = new(CredentialLookupStatus.Unavailable, null);

    public static CredentialLookup Found(CredentialProjection projection) => new(CredentialLookupStatus.Found, projection);

    public static CredentialLookup Refused(CredentialRefusal refusal) =>
        refusal == CredentialRefusal.Unknown ? NotFound : new(CredentialLookupStatus.NotFound, null, refusal);
}
