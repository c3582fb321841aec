using System.Collections.Concurrent;

namespace LlmGateway.Gateway.Limits;

/// <summary>The requests this instance holds leases for in Redis, renewed by <see cref="LimitMaintenance"/> while they run.</summary>
internal sealed class LeaseRegistry
{
    private readonly ConcurrentDictionary<LimitTicket, byte> _tickets = new(ReferenceEqualityComparer.Instance);

    public int Count => _tickets.Count;

    public void Add(LimitTicket ticket) => _tickets.TryAdd(ticket, 0);

    public void Remove(LimitTicket ticket) => _tickets.TryRemove(ticket, out _);

    /// <summary>Each (subject base, request id) lease held now.</summary>
    public List<(string Base, string RequestId)> Leases()
    {
        var leases = new List<(string, string)>();
        foreach (var ticket in _tickets.Keys)
        {
            foreach (var subject in ticket.Plan.Subjects)
            {
                leases.Add((subject.Base, ticket.RequestId));
            }
        }

        return leases;
    }
}
