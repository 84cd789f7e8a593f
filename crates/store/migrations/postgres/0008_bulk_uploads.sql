-- Bulk uploads (PostgreSQL): pre-signed object-storage uploads handed out by the hub for large
-- batches, and the answer of their ingest. `data_key` is the base64 AES-256-GCM key the batch is
-- encrypted with in object storage; it is cleared (NULL) once the upload is ingested. `expires_ms`
-- is UTC epoch milliseconds; stamps are RFC 3339 text.

CREATE TABLE bulk_uploads (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    route           TEXT NOT NULL,
    object_path     TEXT NOT NULL,
    bytes           BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    data_key        TEXT,
    created_at      TEXT NOT NULL,
    expires_ms      BIGINT NOT NULL,
    ingested_at     TEXT,
    idempotency_key TEXT,
    answer_status   BIGINT,
    answer_body     TEXT
);
CREATE INDEX bulk_uploads_project ON bulk_uploads (project_id, created_at);
