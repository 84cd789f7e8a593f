-- Security (PostgreSQL): API tokens issued by `wfm-hub token issue` and the hash-chained audit log.
-- Times are RFC 3339 UTC text with microseconds, so text order is time order.

-- A token is stored only as the lowercase hex SHA-256 of its text; `digest` is unique and
-- indexed so that authentication is one index lookup. `scopes` is a space-separated list of
-- `ingest`, `read`, `admin`.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT,
    digest       TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX api_tokens_project ON api_tokens (project_id, created_at);

-- Append-only audit log. Each entry's `hash` is SHA-256(prev_hash || canonical content), and
-- `prev_hash` is the hash of the entry before it (or of the anchor). No foreign key to
-- projects: the trail outlives a deleted project.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY NOT NULL,
    at          TEXT NOT NULL,
    project_id  TEXT,
    principal   TEXT,
    source      TEXT,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain head (the last entry) and the anchor (the last purged entry, or the genesis), in
-- one row that every append locks.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    anchor_seq  BIGINT NOT NULL,
    anchor_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, anchor_seq, anchor_hash) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
     '0000000000000000000000000000000000000000000000000000000000000000');
