-- Adherence (PostgreSQL): activity definitions with edge tolerances, rule overrides, agent
-- schedules and authorized exceptions. Instants are UTC epoch milliseconds; stamps are RFC 3339
-- text. Sorted text columns use the C collation so that both backends order alike.

CREATE TABLE adherence_activities (
    project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    tolerance_start_ms BIGINT NOT NULL,
    tolerance_end_ms   BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);

-- `activity` NULL = unscheduled time; `reason_code` NULL = any reason.
CREATE TABLE adherence_rules (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    activity    TEXT,
    state       TEXT NOT NULL,
    reason_code BIGINT,
    status      TEXT NOT NULL,
    PRIMARY KEY (project_id, position)
);

-- Entries may overlap (the later start wins, then the higher position: the order of the PUT).
CREATE TABLE schedules (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    agent      TEXT COLLATE "C" NOT NULL,
    activity   TEXT NOT NULL,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    position   INTEGER NOT NULL
);
CREATE INDEX schedules_agent_start ON schedules (project_id, agent, start_ms);
CREATE INDEX schedules_start ON schedules (project_id, start_ms);

CREATE TABLE adherence_exceptions (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    agent      TEXT COLLATE "C" NOT NULL,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX adherence_exceptions_agent ON adherence_exceptions (project_id, agent, start_ms);
