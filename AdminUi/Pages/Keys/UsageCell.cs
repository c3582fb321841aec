namespace LlmGateway.AdminUi.Pages.Keys;

/// <summary>One limit and how much of it is in use now (<see cref="Used"/> null: the counters could not be read).</summary>
public sealed record UsageCell(long? Used, long Limit, string Unit, string Source, string? Note);
