-- Encryption at rest: each project's data keys, wrapped by the key-encryption key (KEK), which
-- is never stored here (it lives in a file, an environment variable or a KMS).
--
-- `data_keys` is the JSON of wfm_crypto::StoredProjectKeys: the active data key id and every
-- data key of the project (older ones are kept so that data written before a rotation stays
-- readable), each wrapped by a KEK named by id, with its encryption counter. The counter is
-- reserved ahead of use (counter + reservation is written before a replica encrypts), so the
-- per-key bound holds across restarts and replicas.
-- `index_key` is the JSON of a wfm_crypto::WrappedKey: the per-project HMAC-SHA-256 key of the
-- blind indexes (equality lookups on encrypted fields). It is re-wrapped, never rotated.
-- `version` increases with every write (optimistic concurrency between hub replicas).
-- The column is `project`, not `project_id`, on purpose: the row holds no project *data*.
CREATE TABLE encryption_keys (
    project     TEXT PRIMARY KEY NOT NULL,
    data_keys   TEXT NOT NULL,
    index_key   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TEXT NOT NULL
);
