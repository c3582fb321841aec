namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// Whether TokenService's revocation broadcasts can reach this instance right now (<see cref="RevocationListener"/>
/// is subscribed and its connection is up). While it is down, no eviction can arrive, so
/// <see cref="CredentialResolver"/> trusts a cached credential only for <c>Gateway:Credentials:UnconfirmedTtl</c>
/// and then re-validates it with TokenService, which reads PostgreSQL: a revocation made during a Redis outage takes
/// effect within seconds instead of when the cache entry expires.
/// </summary>
internal sealed class CredentialChannel
{
    private volatile bool _live;

    public bool IsLive => _live;

    public void MarkLive() => _live = true;

    public void MarkDown() => _live = false;
}
