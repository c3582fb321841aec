using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Translation;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>
/// Step <i>route</i>: the targets that serve the model, in the order they are tried (<see cref="UpstreamRouter"/>),
/// the request in Chat Completions form when one of them is OpenAI-compatible, and the upstream OAuth account's token
/// when the caller's key is served by one. The result is the <see cref="ForwardRequest"/> the forwarder sends.
/// </summary>
internal sealed class ModelRequestRouting(UpstreamRouter router, UpstreamAccountTokens? accountTokens = null)
{
    public ValueTask<Rejection?> RouteAsync(HttpContext context, ModelExchange exchange, CancellationToken cancellationToken)
    {
        var route = exchange.Route;
        var plan = router.Plan(exchange.Model, route.TranslatesToOpenAi);
        if (plan.HasOpenAiTarget)
        {
            exchange.OpenAiBody = OpenAiUpstream.TranslateRequest(exchange.Body!, out var untranslatable);
            if (exchange.OpenAiBody is null)
            {
                return new(new Rejection(400, AnthropicErrors.InvalidRequest, untranslatable!));
            }
        }

        var pathAndQuery = context.Request.QueryString.HasValue && !route.TranslatesChatCompletions
            ? route.UpstreamPath + context.Request.QueryString.Value
            : route.UpstreamPath;
        exchange.Forward = new ForwardRequest(exchange.RequestId, pathAndQuery, exchange.Body, exchange.EventReader, exchange.JsonReader,
            FixedTarget: true, Plan: plan, OpenAiBody: exchange.OpenAiBody);
        return exchange.Credential.UpstreamAccount is { } account && accountTokens is not null
            ? GrantAsync(exchange, account, cancellationToken)
            : default;
    }

    /// <summary>Served by an upstream OAuth account: its token or a clear error, never another account or the shared key.</summary>
    private async ValueTask<Rejection?> GrantAsync(ModelExchange exchange, string account, CancellationToken cancellationToken)
    {
        var grant = await accountTokens!.GetAsync(account, null, cancellationToken);
        if (grant.Token is null)
        {
            return new Rejection(503, AnthropicErrors.Api, grant.Problem!);
        }

        exchange.Forward = exchange.Forward with { OAuth = new UpstreamOAuthGrant(account, grant.Token) };
        return null;
    }
}
