namespace LlmGateway.Contracts;

/// <summary>
/// Every Redis key and channel the services share. This is the contract between TokenService (writer of
/// credentials), Gateway (reader of credentials, writer of usage and limit counters) and UsageWorker (reader of usage).
/// </summary>
public static class RedisKeys
{
    /// <summary>String, JSON <see cref="Credentials.CredentialProjection"/>, expires with the credential.</summary>
    public static string Credential(string credentialHash) => "lgw:cred:" + credentialHash;

    /// <summary>
    /// Pub/sub channel of credential changes. Messages: <c>revoked:{hash}</c>, <c>updated:{hash}</c>,
    /// <c>reprojected</c> (drop every cached credential), <c>account-disabled:{userId}</c> / <c>account-enabled:{userId}</c>.
    /// </summary>
    public const string CredentialEvents = "lgw:cred:events";

    /// <summary>
    /// Marker of a disabled local account (no expiry; deleted when it is enabled again): its sign-in JWTs are validated
    /// locally by every service, so gateways refuse them by this marker (loaded on subscribe, then kept by the
    /// <c>account-disabled:</c>/<c>account-enabled:</c> messages on <see cref="CredentialEvents"/>).
    /// </summary>
    public static string DisabledAccount(string userId) => DisabledAccountPrefix + userId;

    public const string DisabledAccountPrefix = "lgw:account-disabled:";

    /// <summary>
    /// Pub/sub channel of upstream OAuth account changes (message: the account id, after a disconnect): gateways drop
    /// the account's cached access token at once, so its keys get the "reconnect" error instead of the old token.
    /// </summary>
    public const string UpstreamAccountEvents = "lgw:upstream-account:events";

    /// <summary>
    /// Pub/sub channel of circuit-breaker resets: <c>reset:*</c> (every breaker) or <c>reset:{name}</c> (one target,
    /// or every target of an upstream). Every gateway instance closes the named breakers.
    /// </summary>
    public const string CircuitBreakerEvents = "lgw:breaker:events";

    /// <summary>
    /// String, present while the credential projection is complete. TokenService writes it when it (re-)projects every
    /// active credential; its absence means Redis was flushed or replaced, and TokenService re-projects. Never a
    /// credential hash (those are 64 hex characters), so it cannot collide with <see cref="Credential"/>.
    /// </summary>
    public const string CredentialEpoch = "lgw:cred:epoch";

    /// <summary>String with expiry: held by the one TokenService replica that re-projects after a detected flush.</summary>
    public const string CredentialReprojectLock = "lgw:cred:reproject-lock";

    /// <summary>Stream of usage events (fields: <see cref="Usage.UsageEventFields"/>); one entry per request.</summary>
    public const string UsageStream = "lgw:usage";

    /// <summary>The UsageWorker consumer group on <see cref="UsageStream"/>.</summary>
    public const string UsageConsumerGroup = "usageworker";

    /// <summary>Stream of usage entries that could not be stored after repeated attempts.</summary>
    public const string UsageDeadLetterStream = "lgw:usage:dead";

    /// <summary>
    /// Settled spend of a budget scope in one period, an integer in nano-USD (INCRBY). <paramref name="scope"/> is
    /// <see cref="BudgetScopeCredential"/>, <see cref="BudgetScopeOwner"/> or <see cref="BudgetScopeMinted"/>;
    /// <paramref name="periodKey"/> comes from <see cref="BudgetPeriodKey"/>. The Gateway settles every priced request
    /// into all three periods (<c>total</c>, the day and the month of the request's start, UTC) of each scope it belongs
    /// to; the UsageWorker can rebuild the <c>cred</c> and <c>owner</c> counters from PostgreSQL after Redis was lost.
    /// </summary>
    public static string BudgetSpent(string scope, string id, string periodKey) => $"lgw:budget:{scope}:{id}:{periodKey}";

    /// <summary>Spend of the credential itself (usage events with <c>credential_id</c> = id).</summary>
    public const string BudgetScopeCredential = "cred";

    /// <summary>Spend of every credential of an owner (usage events with <c>owner_id</c> = id).</summary>
    public const string BudgetScopeOwner = "owner";

    /// <summary>
    /// Spend of the tokens minted from a credential, at any depth (not its own). A credential's budget covers its own
    /// spend plus this. Not rebuilt by the UsageWorker yet: usage events do not carry the lineage.
    /// </summary>
    public const string BudgetScopeMinted = "minted";

    /// <summary>
    /// String, present while the <see cref="BudgetSpent"/> counters are complete. The UsageWorker sets it after
    /// rebuilding them from PostgreSQL; its absence means Redis lost them (flushed or replaced) and they must be rebuilt.
    /// </summary>
    public const string BudgetSpentRebuilt = "lgw:budget:rebuilt";

    /// <summary>
    /// When the day and month <see cref="BudgetSpent"/> counters of <paramref name="at"/> expire (Unix seconds): a day's
    /// counter outlives its day by one day, a month's its month by one day, so a request settled just after midnight
    /// still finds the counter it was admitted against. The Gateway's settlement and the UsageWorker's rebuild use it.
    /// </summary>
    public static (long Day, long Month) BudgetPeriodExpiry(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return (new DateTimeOffset(utc.Date, TimeSpan.Zero).AddDays(2).ToUnixTimeSeconds(),
            new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1).AddDays(1).ToUnixTimeSeconds());
    }

    /// <summary><c>total</c>, <c>d:yyyy-MM-dd</c> or <c>m:yyyy-MM</c> (UTC) for a budget period name.</summary>
    public static string BudgetPeriodKey(string? period, DateTimeOffset at) => period switch
    {
        "daily" => "d:" + at.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        "monthly" => "m:" + at.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
        _ => "total",
    };

    /// <summary>
    /// String with a 60-day expiry: the credential family (the root of a lineage, or the credential itself) that created
    /// a message batch or a file in the shared upstream account (<paramref name="kind"/> <c>batch</c> or <c>file</c>).
    /// </summary>
    public static string Owned(string kind, string id) => $"lgw:owned:{kind}:{id}";
}
