using LlmGateway.Gateway.Admission;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Where an admitted request holds its slots: in Redis, in this instance's quota leases, in this instance's fallback,
/// or nowhere (nothing limited).
/// </summary>
internal enum TicketStore
{
    None,
    Redis,
    Lease,
    Local,
}

/// <summary>What an admitted request holds until it is settled.</summary>
internal sealed class LimitTicket(LimitPlan plan, string requestId, TicketStore store, long window, SubjectLease[]? leases = null) : AdmissionTicket
{
    private int _settled;

    public LimitPlan Plan { get; } = plan;

    public string RequestId { get; } = requestId;

    public TicketStore Store { get; } = store;

    /// <summary>The one-minute window the request was counted in (its tokens are corrected there).</summary>
    public long Window { get; } = window;

    /// <summary>For <see cref="TicketStore.Lease"/>: the lease of each of the plan's subjects it was admitted from.</summary>
    public SubjectLease[]? Leases { get; } = leases;

    /// <summary>True the first time only: settlement happens exactly once.</summary>
    public bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;
}
