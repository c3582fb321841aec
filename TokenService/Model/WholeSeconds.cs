namespace LlmGateway.TokenService.Model;

/// <summary>
/// Issued credentials start and expire on whole seconds, so expiry times read like creddy's and seed 002's
/// (<c>2026-02-25T13:00:00Z</c>) and a ttl of <c>1h</c> is exactly one hour from <c>created_at</c>.
/// </summary>
public static class WholeSeconds
{
    public static DateTimeOffset Now(TimeProvider time) => Floor(time.GetUtcNow());

    public static DateTimeOffset Floor(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    public static TimeSpan Floor(TimeSpan value) =>
        TimeSpan.FromTicks(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond));
}
