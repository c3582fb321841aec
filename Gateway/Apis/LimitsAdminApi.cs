using LlmGateway.Gateway.Limits;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// <c>GET /admin/credentials/{id}/limits</c> on the gateway's address: the limits enforced for a credential and where it
/// stands now. TokenService authorizes the caller (its admin key goes along unchanged) and supplies the credential
/// and its lineage; the gateway adds what only it knows: the defaults applied, the owner's limits and the live
/// counters in Redis.
/// </summary>
/// <remarks>
/// <code>
/// {"id","kind","status","parent_id","owner":{…},"models","routes","expires_at","limits":{as set on the credential},"enabled",
///  "enforced":[{"scope":"credential"|"ancestor"|"owner","id","kind",
///     "requests_per_minute":{"limit","source","used","remaining","reset"}|null,
///     "tokens_per_minute":{"limit","source","used","remaining","reset"}|null,
///     "concurrent":{"limit","source","in_flight"}|null,
///     "budget":{"limit_usd","source","period","period_key","spent_usd","reserved_usd","leased_usd","remaining_usd","resets_at"}|null,
///     "leases":[{"instance","expires_at","requests","tokens","slots","budget_usd"}, …]|null}, …],
///  "usage_available":true|false}
/// </code>
/// <c>source</c> is <c>credential</c> (set on it), <c>default</c> (<c>Limits:Defaults</c> for its kind) or
/// <c>configuration</c> (owner limits). Usage fields are null when Redis cannot be read. <c>leases</c>: the quota each
/// gateway instance holds of the subject (<c>Limits:Leases</c>): requests and tokens of this window (counted in
/// <c>used</c>), concurrency slots and budget (in <c>leased_usd</c>), each until it is used, given back or expires.
/// </remarks>
internal static class LimitsAdminApi
{
    public static IEndpointRouteBuilder MapLimitsAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/admin/credentials/{id}/limits", static (HttpContext context, string id) =>
            context.RequestServices.GetRequiredService<CredentialLimitsView>().WriteAsync(context, id));
        return routes;
    }
}
