using LlmGateway.ServiceDefaults.Data;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// TokenService's tables, as versioned migrations (component <c>tokenservice</c>), applied at start-up by ServiceDefaults'
/// <see cref="SchemaMigrator"/>. Written idempotently as well, so a half-applied manual fix cannot wedge start-up. Never
/// edit an applied migration; add the next version.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>owners</c>: who credentials belong to, keyed by (type, id); ids are chosen by the admin (or are the device id).</item>
/// <item><c>credentials</c>: every credential ever issued, by SHA-256 hash only (the secret is never stored). Scope is
/// columns, not JSON, so that limits can be queried. <c>version</c> is bumped on each change (optimistic concurrency).</item>
/// <item><c>devices</c>: installs that bootstrapped (seed 002).</item>
/// <item><c>audit_log</c>: every admin action: actor, action, target, time, source address, details (never a secret).</item>
/// <item><c>users</c>: local accounts (seed 003), email unique (stored lower-case), password as ASP.NET Core Identity's
/// hash, role, lockout state, and limits that bound all of the user's credentials together (the user is the root of
/// their lineage; see <see cref="CredentialStore"/>).</item>
/// <item><c>invites</c>: one-time registration codes, by SHA-256 hash only.</item>
/// <item><c>signing_keys</c>: the RSA keys user JWTs are signed with, shared by every replica; the private key is stored
/// as <see cref="Accounts.ISigningKeyProtector"/> wrapped it (<c>protection</c> names how). A retired key stays published
/// until the tokens it signed have expired.</item>
/// </list>
/// </remarks>
public static class TokenServiceSchema
{
    public const string Component = "tokenservice";

    public static IReadOnlyList<SchemaMigration> Migrations { get; } =
    [
        new(1, "credentials, owners, devices, audit log", """
            CREATE TABLE IF NOT EXISTS owners (
                type            text        NOT NULL CHECK (type IN ('organization', 'user', 'device', 'agent')),
                id              text        NOT NULL,
                name            text,
                organization_id text,
                created_at      timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (type, id)
            );

            CREATE TABLE IF NOT EXISTS credentials (
                id                  text          PRIMARY KEY,
                hash                text          NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
                kind                text          NOT NULL CHECK (kind IN ('api_key', 'agent_token', 'device_token', 'admin_key')),
                hint                text          NOT NULL,
                name                text,
                external            boolean       NOT NULL DEFAULT false,
                owner_type          text          NOT NULL,
                owner_id            text          NOT NULL,
                parent_id           text          REFERENCES credentials (id),
                agent_name          text,
                device_id           text,
                app_version         text,
                models              text[]        NOT NULL,
                routes              text[]        NOT NULL,
                requests_per_minute integer,
                tokens_per_minute   integer,
                max_concurrent      integer,
                budget_usd          numeric(20, 6),
                budget_period       text,
                created_at          timestamptz   NOT NULL,
                created_by          text,
                expires_at          timestamptz,
                revoked_at          timestamptz,
                revoked_by          text,
                revocation_reason   text,
                replaced_by         text,
                version             integer       NOT NULL DEFAULT 1,
                FOREIGN KEY (owner_type, owner_id) REFERENCES owners (type, id)
            );

            CREATE INDEX IF NOT EXISTS credentials_owner ON credentials (owner_type, owner_id);
            CREATE INDEX IF NOT EXISTS credentials_parent ON credentials (parent_id) WHERE parent_id IS NOT NULL;
            CREATE INDEX IF NOT EXISTS credentials_device ON credentials (device_id) WHERE device_id IS NOT NULL;
            CREATE INDEX IF NOT EXISTS credentials_unrevoked ON credentials (id) WHERE revoked_at IS NULL;
            CREATE INDEX IF NOT EXISTS credentials_revoked_at ON credentials (revoked_at) WHERE revoked_at IS NOT NULL;

            CREATE TABLE IF NOT EXISTS devices (
                device_id       text        PRIMARY KEY,
                app_version     text,
                first_seen_at   timestamptz NOT NULL,
                last_seen_at    timestamptz NOT NULL,
                bootstrap_count bigint      NOT NULL DEFAULT 0
            );

            CREATE TABLE IF NOT EXISTS audit_log (
                id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at             timestamptz NOT NULL,
                actor_id       text        NOT NULL,
                actor_hint     text,
                action         text        NOT NULL,
                target         text,
                source_address text,
                details        jsonb       NOT NULL DEFAULT '{}'::jsonb
            );

            CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log (target);
            CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id);
            """),
        new(2, "users, invites, signing keys", """
            CREATE TABLE IF NOT EXISTS users (
                id                  text          PRIMARY KEY,
                email               text          NOT NULL UNIQUE,
                name                text,
                password_hash       text          NOT NULL,
                role                text          NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
                organization_id     text          NOT NULL,
                requests_per_minute integer,
                tokens_per_minute   integer,
                max_concurrent      integer,
                budget_usd          numeric(20, 6),
                budget_period       text,
                failed_sign_ins     integer       NOT NULL DEFAULT 0,
                locked_until        timestamptz,
                disabled_at         timestamptz,
                created_at          timestamptz   NOT NULL,
                last_sign_in_at     timestamptz,
                version             integer       NOT NULL DEFAULT 1
            );

            CREATE TABLE IF NOT EXISTS invites (
                id          text        PRIMARY KEY,
                code_hash   text        NOT NULL UNIQUE CHECK (code_hash ~ '^[0-9a-f]{64}$'),
                email       text,
                role        text        NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
                created_at  timestamptz NOT NULL,
                created_by  text        NOT NULL,
                expires_at  timestamptz NOT NULL,
                used_at     timestamptz,
                used_by     text
            );

            CREATE TABLE IF NOT EXISTS signing_keys (
                kid         text        PRIMARY KEY,
                algorithm   text        NOT NULL,
                private_key bytea       NOT NULL,
                protection  text        NOT NULL,
                created_at  timestamptz NOT NULL,
                retired_at  timestamptz
            );
            """),
        new(3, "upstream OAuth accounts, Data Protection key ring", """
            CREATE TABLE IF NOT EXISTS dataprotection_keys (
                id              bigserial   PRIMARY KEY,
                friendly_name   text        NOT NULL,
                xml             text        NOT NULL,
                created_at      timestamptz NOT NULL DEFAULT now()
            );

            -- access_token, refresh_token: Data Protection payloads (purpose LlmGateway.UpstreamOAuth.Tokens.v1), never plaintext.
            CREATE TABLE IF NOT EXISTS upstream_accounts (
                id              text        PRIMARY KEY,
                label           text,
                status          text        NOT NULL CHECK (status IN ('connected', 'refresh_failed', 'disconnected')),
                access_token    text,
                refresh_token   text,
                expires_at      timestamptz,
                last_refresh_at timestamptz,
                last_error      text,
                created_at      timestamptz NOT NULL,
                connected_at    timestamptz,
                disconnected_at timestamptz
            );

            -- A started connection: state (once, until expires_at) and its protected PKCE code_verifier.
            CREATE TABLE IF NOT EXISTS upstream_oauth_pending (
                state           text        PRIMARY KEY,
                account_id      text        NOT NULL,
                label           text,
                code_verifier   text        NOT NULL,
                expires_at      timestamptz NOT NULL
            );

            -- Which account serves an organization's keys or one key (a key's own assignment wins).
            CREATE TABLE IF NOT EXISTS upstream_account_assignments (
                target_type     text        NOT NULL CHECK (target_type IN ('organization', 'credential')),
                target_id       text        NOT NULL,
                account_id      text        NOT NULL REFERENCES upstream_accounts (id),
                PRIMARY KEY (target_type, target_id)
            );
            """),
    ];
}
