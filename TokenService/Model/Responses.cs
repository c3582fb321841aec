using System.Text.Json;
using System.Text.Json.Serialization;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Infrastructure;

namespace LlmGateway.TokenService.Model;

// Response bodies. Names are snake_case on the wire; times are RFC 3339 in UTC.

/// <summary><c>POST /v1/tokens</c>: creddy's <c>{"token","expires_at","ttl"}</c> plus the token's id (to revoke it).</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt, string Ttl, string Id);

/// <summary><c>POST /bootstrap</c> and <c>POST /refresh</c> (seed 002's shape).</summary>
public sealed record DeviceTokenResponse(string WrapperToken, string ProxyBaseUrl, DateTimeOffset ExpiresAt);

/// <summary>How TokenService builds the shared answers (Contracts/Admin) from its own records.</summary>
public static class CredentialViews
{
    extension(CredentialView)
    {
        public static CredentialView From(Credential c, DateTimeOffset now) => new()
        {
            Id = c.Id,
            Kind = c.Kind,
            Name = c.Name,
            Hint = c.Hint,
            Status = CredentialView.StatusName(c.StatusAt(now)),
            External = c.External,
            Owner = c.Owner,
            ParentId = c.ParentId,
            AgentName = c.AgentName,
            DeviceId = c.DeviceId,
            AppVersion = c.AppVersion,
            Models = c.Scope.Models,
            Routes = c.Scope.Routes,
            Limits = c.Scope.Limits,
            CreatedAt = c.CreatedAt,
            CreatedBy = c.CreatedBy,
            ExpiresAt = c.ExpiresAt,
            RevokedAt = c.RevokedAt,
            RevocationReason = c.RevocationReason,
            ReplacedBy = c.ReplacedBy,
            Ancestors = c.Ancestors is { Count: > 0 } ? c.Ancestors : null,
        };

        public static string StatusName(CredentialStatus status) => status switch
        {
            CredentialStatus.Active => "active",
            CredentialStatus.Revoked => "revoked",
            _ => "expired",
        };
    }

    extension(RevocationPropagation)
    {
        public static RevocationPropagation Of(RevokeOutcome outcome) => outcome switch
        {
            { RevokedNow: false } => new(true, 0, 0, "The credential was already revoked."),
            { GatewaysNotified: { } notified } => new(true, notified, 0, $"Revocation broadcast to {notified} gateway instance(s); in force now."),
            _ => new(false, null, RevocationPropagation.UnconfirmedWindowSeconds,
                "Revoked in the database, but Redis is unreachable so no gateway was told directly. Gateways re-validate cached "
                + $"credentials with TokenService while their revocation channel is down: it stops working within {RevocationPropagation.UnconfirmedWindowSeconds} s."),
        };
    }
}

/// <summary><c>GET /admin/credentials/{id}/limits</c>.</summary>
public sealed record CredentialLimitsView(string Id, string Status, IReadOnlyList<string> Models, IReadOnlyList<string> Routes, CredentialLimits Limits, DateTimeOffset? ExpiresAt, string? ParentId);

public sealed record ReprojectionView(int Projected, int Removed, long DurationMs);
