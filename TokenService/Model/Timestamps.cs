namespace LlmGateway.TokenService.Model;

/// <summary>
/// The precision of stored times. Issued credentials start and expire on whole seconds, so expiry times read like
/// creddy's and seed 002's (<c>2026-02-25T13:00:00Z</c>) and a ttl of <c>1h</c> is exactly one hour from <c>created_at</c>.
/// Other times (revocations, audit entries) keep PostgreSQL's microseconds, so what an API returns right after a change
/// is what it returns when read back later.
/// </summary>
public static class Timestamps
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;

    public static DateTimeOffset NowWholeSeconds(TimeProvider time) => FloorSeconds(time.GetUtcNow());

    public static DateTimeOffset NowMicroseconds(TimeProvider time) => FloorMicroseconds(time.GetUtcNow());

    public static DateTimeOffset FloorSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    public static TimeSpan FloorSeconds(TimeSpan value) =>
        TimeSpan.FromTicks(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond));

    public static DateTimeOffset FloorMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TicksPerMicrosecond), TimeSpan.Zero);
}
