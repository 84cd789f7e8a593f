-- Agent states (SQLite): reason codes per source, state events (history and live), the
-- agents seen per source, and feed gaps. Instants are UTC epoch milliseconds; stamps are
-- RFC 3339 text.

CREATE TABLE reason_codes (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    code        INTEGER NOT NULL,
    label       TEXT NOT NULL,
    category    TEXT NOT NULL,
    system_code BOOLEAN NOT NULL,
    for_all     BOOLEAN NOT NULL,
    active      BOOLEAN NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, source, id)
);

-- `id` orders events of one agent that share an instant (arrival order). No uniqueness
-- constraint: the store itself never writes an event it already holds (same source, agent,
-- instant, state and reason), under the per-source lock.
CREATE TABLE agent_state_events (
    id            INTEGER PRIMARY KEY,
    project_id    TEXT NOT NULL,
    source        TEXT NOT NULL,
    agent         TEXT NOT NULL,
    at_ms         INTEGER NOT NULL,
    state         TEXT NOT NULL,
    reason_code   INTEGER,
    raw           TEXT NOT NULL,
    unknown_agent BOOLEAN NOT NULL,
    received_at   TEXT NOT NULL
);
-- One agent's timeline (segments, latest state) and a batch's window (one source).
CREATE INDEX agent_state_events_agent ON agent_state_events (project_id, source, agent, at_ms, id);
CREATE INDEX agent_state_events_source_at ON agent_state_events (project_id, source, at_ms);

-- Every (source, agent) that ever sent an event: the list timelines and latest states walk.
CREATE TABLE state_agents (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    agent       TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    PRIMARY KEY (project_id, source, agent)
);

CREATE TABLE feed_gaps (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (project_id, source, from_ms)
);

-- The unknown-agent check of a state batch looks its distinct agent ids up by the `agentId`
-- attribute and by external id; these keep both look-ups index probes.
CREATE INDEX user_attributes_agent_id ON user_attributes (value) WHERE name = 'agentId';
CREATE INDEX users_project_external ON users (project_id, external_id);
