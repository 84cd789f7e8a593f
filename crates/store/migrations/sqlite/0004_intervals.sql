-- Queue statistics (SQLite): queues discovered from interval batches, the 15/30-minute
-- intervals of each queue, and the windows accepted batches covered (merged ranges).
-- Interval starts and coverage bounds are UTC epoch milliseconds; stamps are RFC 3339 text.

CREATE TABLE interval_queues (
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source           TEXT NOT NULL,
    queue_id         TEXT NOT NULL,
    name             TEXT NOT NULL,
    interval_minutes INTEGER NOT NULL,
    time_zone        TEXT NOT NULL,
    first_seen       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (project_id, source, queue_id)
);

CREATE TABLE intervals (
    project_id              TEXT NOT NULL,
    source                  TEXT NOT NULL,
    queue_id                TEXT NOT NULL,
    start_ms                INTEGER NOT NULL,
    interval_minutes        INTEGER NOT NULL,
    presented               INTEGER NOT NULL,
    handled                 INTEGER NOT NULL,
    handled_without_talk    INTEGER NOT NULL,
    abandoned               INTEGER NOT NULL,
    aborted                 INTEGER NOT NULL,
    dequeued                INTEGER NOT NULL,
    handled_by_script       INTEGER NOT NULL,
    handled_by_other_queue  INTEGER NOT NULL,
    talk_ms                 INTEGER NOT NULL,
    hold_ms                 INTEGER NOT NULL,
    work_ms                 INTEGER NOT NULL,
    answer_wait_ms          INTEGER NOT NULL,
    queue_time_ms           INTEGER NOT NULL,
    queued                  INTEGER NOT NULL,
    answered_within_sl      INTEGER NOT NULL,
    abandoned_within_sl     INTEGER NOT NULL,
    longest_wait_ms         INTEGER NOT NULL,
    longest_answer_wait_ms  INTEGER NOT NULL,
    longest_abandon_wait_ms INTEGER NOT NULL,
    version                 INTEGER NOT NULL,
    updated_at              TEXT NOT NULL,
    PRIMARY KEY (project_id, source, queue_id, start_ms)
);
-- The window of a batch (one source) and range queries over every queue.
CREATE INDEX intervals_source_start ON intervals (project_id, source, start_ms);
CREATE INDEX intervals_project_start ON intervals (project_id, start_ms);

CREATE TABLE interval_coverage (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER NOT NULL,
    PRIMARY KEY (project_id, source, from_ms)
);
