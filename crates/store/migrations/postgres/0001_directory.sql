-- User directory, sync-run history and idempotency records (PostgreSQL).
-- Sorted text columns use the C collation so that both backends order them alike.
-- Times are RFC 3339 UTC text with microseconds, so text order is time order.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE roles (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    username    TEXT COLLATE "C" NOT NULL,
    first_name  TEXT,
    last_name   TEXT,
    email       TEXT,
    enabled     BOOLEAN NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (project_id, source, external_id)
);
CREATE INDEX users_project_username ON users (project_id, username, id);

CREATE TABLE user_attributes (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    position    INTEGER NOT NULL
);
CREATE INDEX user_attributes_user ON user_attributes (user_id);

CREATE TABLE user_skills (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill       TEXT NOT NULL,
    competence  INTEGER NOT NULL,
    PRIMARY KEY (user_id, skill)
);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (project_id, source, external_id)
);
CREATE INDEX groups_project_name ON groups (project_id, name, id);

CREATE TABLE group_attributes (
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    position    INTEGER NOT NULL
);
CREATE INDEX group_attributes_group ON group_attributes (group_id);

CREATE TABLE memberships (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX memberships_group ON memberships (group_id);

CREATE TABLE user_roles (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sync_runs (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    source       TEXT NOT NULL,
    started_at   TEXT COLLATE "C" NOT NULL,
    finished_at  TEXT NOT NULL,
    result       TEXT NOT NULL,
    summary      TEXT NOT NULL,
    reason       TEXT,
    warnings     TEXT NOT NULL,
    change_count BIGINT NOT NULL
);
CREATE INDEX sync_runs_project_order ON sync_runs (project_id, started_at, seq);

CREATE TABLE sync_run_changes (
    run_id      TEXT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    change      TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE idempotency_keys (
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, key)
);
