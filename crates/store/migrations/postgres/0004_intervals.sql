-- Queue statistics (PostgreSQL): queues discovered from interval batches, the 15/30-minute
-- intervals of each queue, and the windows accepted batches covered (merged ranges).
-- Interval starts and coverage bounds are UTC epoch milliseconds; stamps are RFC 3339 text.
-- Sorted text columns use the C collation so that both backends order them alike.

CREATE TABLE interval_queues (
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source           TEXT COLLATE "C" NOT NULL,
    queue_id         TEXT COLLATE "C" NOT NULL,
    name             TEXT NOT NULL,
    interval_minutes INTEGER NOT NULL,
    time_zone        TEXT NOT NULL,
    first_seen       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (project_id, source, queue_id)
);

CREATE TABLE intervals (
    project_id              TEXT NOT NULL,
    source                  TEXT COLLATE "C" NOT NULL,
    queue_id                TEXT COLLATE "C" NOT NULL,
    start_ms                BIGINT NOT NULL,
    interval_minutes        INTEGER NOT NULL,
    presented               BIGINT NOT NULL,
    handled                 BIGINT NOT NULL,
    handled_without_talk    BIGINT NOT NULL,
    abandoned               BIGINT NOT NULL,
    aborted                 BIGINT NOT NULL,
    dequeued                BIGINT NOT NULL,
    handled_by_script       BIGINT NOT NULL,
    handled_by_other_queue  BIGINT NOT NULL,
    talk_ms                 BIGINT NOT NULL,
    hold_ms                 BIGINT NOT NULL,
    work_ms                 BIGINT NOT NULL,
    answer_wait_ms          BIGINT NOT NULL,
    queue_time_ms           BIGINT NOT NULL,
    queued                  BIGINT NOT NULL,
    answered_within_sl      BIGINT NOT NULL,
    abandoned_within_sl     BIGINT NOT NULL,
    longest_wait_ms         BIGINT NOT NULL,
    longest_answer_wait_ms  BIGINT NOT NULL,
    longest_abandon_wait_ms BIGINT NOT NULL,
    version                 BIGINT NOT NULL,
    updated_at              TEXT NOT NULL,
    PRIMARY KEY (project_id, source, queue_id, start_ms)
);
-- The window of a batch (one source) and range queries over every queue.
CREATE INDEX intervals_source_start ON intervals (project_id, source, start_ms);
CREATE INDEX intervals_project_start ON intervals (project_id, start_ms);

CREATE TABLE interval_coverage (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    from_ms     BIGINT NOT NULL,
    to_ms       BIGINT NOT NULL,
    PRIMARY KEY (project_id, source, from_ms)
);
