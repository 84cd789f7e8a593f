-- Retention (PostgreSQL): per-project overrides of the `[retention]` defaults of hub.toml, one
-- row per (project, kind). `keep_seconds` NULL = keep forever. Kinds: `agent_states`, `intervals`,
-- `sync_runs`, `idempotency`, `adherence` (docs/retention.md). Stamps are RFC 3339 text.
-- The column is `project`, not `project_id`, on purpose: the row holds no project *data* (a
-- project with only a policy is empty for `wfm-hub project delete`); the foreign key removes
-- the policy with its project.
CREATE TABLE retention_policies (
    project      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    keep_seconds BIGINT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (project, kind)
);

-- The purge of idempotency records walks them by age (the other purged tables already have a
-- (project_id, …, time) index).
CREATE INDEX idempotency_keys_created ON idempotency_keys (project_id, created_at);
