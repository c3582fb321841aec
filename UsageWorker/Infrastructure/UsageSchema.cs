using LlmGateway.ServiceDefaults.Data;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// The UsageWorker's tables (component <c>usageworker</c> in <c>schema_migrations</c>). Written down once, here.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>usage_events</c>: one narrow row per request, keyed by <c>request_id</c> (idempotency). Indexed for time
/// ranges overall, per credential and per device; no per-row metadata blobs.</item>
/// <item><c>usage_hourly</c> / <c>usage_daily</c>: rollups per (bucket, credential, owner, organization, agent, device,
/// model), maintained in the same transaction as the events from the rows actually inserted, so a duplicate never
/// counts twice. Reads of /admin/usage touch only these. NULL dimensions are one group (<c>NULLS NOT DISTINCT</c>).</item>
/// </list>
/// Buckets are UTC hours and days.
/// </remarks>
internal static class UsageSchema
{
    public const string Component = "usageworker";

    public static IReadOnlyList<SchemaMigration> Migrations { get; } =
    [
        new(1, "usage events and hourly/daily rollups", """
            CREATE TABLE usage_events (
                request_id                  text        PRIMARY KEY,
                ts                          timestamptz NOT NULL,
                credential_id               text,
                credential_kind             text,
                owner_type                  text,
                owner_id                    text,
                org_id                      text,
                agent_name                  text,
                device_id                   text,
                model                       text,
                upstream                    text,
                route                       text,
                status                      smallint,
                error_type                  text,
                is_error                    boolean     NOT NULL,
                input_tokens                bigint      NOT NULL,
                output_tokens               bigint      NOT NULL,
                cache_creation_input_tokens bigint      NOT NULL,
                cache_read_input_tokens     bigint      NOT NULL,
                cost_nano_usd               bigint      NOT NULL,
                priced                      boolean     NOT NULL,
                stream                      boolean     NOT NULL,
                estimated                   boolean     NOT NULL,
                latency_ms                  integer,
                ttfb_ms                     integer,
                recorded_at                 timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX usage_events_ts ON usage_events (ts);
            CREATE INDEX usage_events_credential_ts ON usage_events (credential_id, ts);
            CREATE INDEX usage_events_device_ts ON usage_events (device_id, ts) WHERE device_id IS NOT NULL;

            CREATE TABLE usage_hourly (
                bucket                      timestamptz NOT NULL,
                credential_id               text,
                owner_type                  text,
                owner_id                    text,
                org_id                      text,
                agent_name                  text,
                device_id                   text,
                model                       text,
                requests                    bigint      NOT NULL,
                errors                      bigint      NOT NULL,
                estimated                   bigint      NOT NULL,
                input_tokens                bigint      NOT NULL,
                output_tokens               bigint      NOT NULL,
                cache_creation_input_tokens bigint      NOT NULL,
                cache_read_input_tokens     bigint      NOT NULL,
                cost_nano_usd               bigint      NOT NULL,
                CONSTRAINT usage_hourly_key UNIQUE NULLS NOT DISTINCT
                    (bucket, credential_id, owner_type, owner_id, org_id, agent_name, device_id, model)
            );
            CREATE INDEX usage_hourly_credential ON usage_hourly (credential_id, bucket);
            CREATE INDEX usage_hourly_owner ON usage_hourly (owner_id, bucket);
            CREATE INDEX usage_hourly_device ON usage_hourly (device_id, bucket) WHERE device_id IS NOT NULL;

            -- Same columns, key and indexes as usage_hourly.
            CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING ALL);
            """),
        // Additive: the gateway's event carries how many upstream attempts a request took (retries and fallback);
        // rows written before have NULL.
        new(2, "upstream attempts per request", """
            ALTER TABLE usage_events ADD COLUMN attempts integer;
            """),
    ];
}
