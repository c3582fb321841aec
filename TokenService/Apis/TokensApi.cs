using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// <c>POST /v1/tokens</c>: short-lived agent tokens (creddy's API, seed 004), minted from the caller's own credential
/// and never wider than it. A person signed in with a JWT (member or admin role) may mint too: the token's owner is the
/// user, and its lineage names the user with the per-person limits (<c>Identity:UserLimits</c>), so everything the person
/// mints shares their requests/min with their own calls.
/// </summary>
public static partial class TokensApi
{
    public static IEndpointRouteBuilder MapTokensApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/tokens", CreateToken).RequireAuthorization(AdminAuthorization.MintPolicy);
        return app;
    }

    public static async Task<Results<Ok<TokenResponse>, ApiError>> CreateToken(
        JsonBody<CreateTokenRequest> body, [AsParameters] TokensApiServices services, HttpContext http)
    {
        var parent = AuthenticatedCaller.Of(http).Credential;
        if (!body.TryGetValue(out var request, out var bodyError))
        {
            return bodyError;
        }

        var now = Timestamps.NowWholeSeconds(services.Time);
        var ttl = services.Options.Value.DefaultTtlValue;
        if (request.Ttl is not null)
        {
            if (!GoDuration.TryParse(request.Ttl, out ttl, out var durationError))
            {
                return ApiError.InvalidRequest($"ttl {durationError}.");
            }

            if (ttl < TokenOptions.MinTtl)
            {
                return ApiError.InvalidRequest($"ttl must be at least 1s (got \"{request.Ttl}\").");
            }

            if (ttl > TokenOptions.MaxTtl)
            {
                return ApiError.InvalidRequest(
                    $"ttl must be at most 24h (got \"{request.Ttl}\"): agent tokens are short-lived; use an API key for longer-lived access.");
            }
        }

        var invalid = InputRules.Label(request.AgentName, "agent_name", 128)
            ?? ScopeRules.ValidateModels(request.Models)
            ?? ScopeRules.ValidateRoutes(request.Routes)
            ?? ScopeRules.ValidateLimits(request.Limits);
        if (invalid is not null)
        {
            return ApiError.InvalidRequest(invalid + ".");
        }

        var narrowed = ScopeRules.Narrow(parent.Scope, request.Models, request.Routes, request.Limits);
        if (narrowed.Scope is null)
        {
            return ApiError.Permission(narrowed.Error + ".");
        }

        var expiresAt = now + ttl;
        if (parent.ExpiresAt is { } parentExpiry && expiresAt > parentExpiry)
        {
            if (request.Ttl is not null)
            {
                var remaining = parentExpiry - now;
                return ApiError.Permission(
                    $"ttl {GoDuration.Format(ttl)} would outlive the parent credential, which expires at {UtcTimestampConverter.Format(parentExpiry)} " +
                    $"(at most {GoDuration.Format(remaining > TimeSpan.Zero ? Timestamps.FloorSeconds(remaining) : TimeSpan.Zero)} remain); a minted token can only narrow its parent.");
            }

            // No ttl asked for: the default is shortened to what the parent has left.
            expiresAt = parentExpiry;
            ttl = parentExpiry - now;
        }

        var secret = CredentialFormat.Generate(CredentialKind.AgentToken);
        var token = new Credential
        {
            Id = Credential.NewId(),
            Hash = CredentialFormat.Hash(secret),
            Kind = CredentialKind.AgentToken,
            Hint = CredentialFormat.Redact(secret),
            Owner = parent.Owner,
            ParentId = parent.Id,
            AgentName = request.AgentName,
            Scope = narrowed.Scope,
            CreatedAt = now,
            CreatedBy = parent.Id,
            ExpiresAt = expiresAt,
        };

        var audit = new AuditRecord(Timestamps.NowMicroseconds(services.Time), parent.Id, parent.Hint, "credential.mint", token.Id, CallerCredential.Address(http), new
        {
            kind = CredentialKindNames.Of(CredentialKind.AgentToken),
            hint = token.Hint,
            parent_id = parent.Id,
            owner = parent.Owner,
            agent_name = token.AgentName,
            models = token.Scope.Models,
            routes = token.Scope.Routes,
            limits = token.Scope.Limits,
            expires_at = token.ExpiresAt,
        });
        MintOutcome outcome;
        if (parent.Kind == CredentialKind.User)
        {
            // No stored parent to reference: the person is the creator and the one ancestor whose limits also apply.
            // (A reprojection rebuilds lineages from parent_id and so drops this ancestor; the token's own scope, narrowed
            // from the person's limits above, still bounds it.)
            token = token with
            {
                ParentId = null,
                Ancestors = [new CredentialAncestor { Id = parent.Id, Kind = CredentialKind.User, Limits = parent.Scope.Limits }],
            };
            outcome = await services.Store.MintForUserAsync(token, services.Options.Value.MaxActivePerParent, audit);
        }
        else
        {
            outcome = await services.Store.MintAsync(token, services.Options.Value.MaxActivePerParent, audit);
        }

        switch (outcome.Result)
        {
            case MintResult.ParentInactive:
                return ApiError.Authentication($"The credential {parent.Hint} was revoked or expired.");
            case MintResult.ParentChanged:
                return ApiError.Conflict("The credential's scope changed while the token was being minted; retry.");
            case MintResult.TooManyActive:
                return ApiError.RateLimited(
                    $"The credential {parent.Hint} already has {outcome.ActiveCount} active tokens (at most {services.Options.Value.MaxActivePerParent}); " +
                    "revoke some or wait for them to expire.", null);
        }

        services.Metrics.Issued(CredentialKind.AgentToken, "mint");
        LogMinted(services.Logger, token.Id, token.Hint, parent.Id, token.AgentName, GoDuration.Format(ttl));
        return TypedResults.Ok(new TokenResponse(secret, expiresAt, GoDuration.Format(ttl), token.Id));
    }

    [LoggerMessage(EventId = 2161, Level = LogLevel.Information, Message = "Minted agent token {CredentialId} ({Hint}) from {ParentId} for agent {AgentName}, ttl {Ttl}")]
    private static partial void LogMinted(ILogger logger, string credentialId, string hint, string parentId, string? agentName, string ttl);
}

public sealed record TokensApiServices(
    CredentialStore Store,
    IOptions<TokenOptions> Options,
    TokenServiceMetrics Metrics,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    public ILogger Logger { get; } = LoggerFactory.CreateLogger(typeof(TokensApi).FullName!);
}
