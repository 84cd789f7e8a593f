"""The same interval table as `aggregate_csv`, computed by DuckDB with SQL on the same CSV.

usage: python3 duckdb_intervals.py LEGS.csv OUT.csv [THREADS]

Rules mirrored from wfm-intervals: a leg counts in the 15-minute UTC interval of its queue
entry; duplicates by (session_id, session_seq, csq_id) counted once (DISTINCT ON; the generator's
duplicates are exact copies, so which copy is kept does not matter); dispositions as
`wfm_intervals::uccx::map_disposition`; NULL talk/hold/work = 0; service level 20 s, inclusive.
"""
import sys
import time

import duckdb

legs, out = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2

SQL = f"""
COPY (
WITH raw AS (
  SELECT * FROM read_csv('{legs}', header = true, auto_detect = false,
    timestampformat = '%Y-%m-%d %H:%M:%S.%g',
    columns = {{'session_id': 'BIGINT', 'session_seq': 'INTEGER', 'csq_id': 'BIGINT',
               'queue_entry': 'TIMESTAMP', 'leg_end': 'TIMESTAMP',
               'queue_disposition': 'INTEGER', 'contact_disposition': 'INTEGER',
               'queue_time': 'BIGINT', 'talk_time': 'BIGINT', 'hold_time': 'BIGINT',
               'work_time': 'BIGINT'}})
),
legs AS (
  SELECT DISTINCT ON (session_id, session_seq, csq_id)
    csq_id AS queue_id,
    epoch_ms(queue_entry) // 900000 AS k,
    queue_time * 1000 AS wait,
    coalesce(talk_time, 0) * 1000 AS talk,
    coalesce(hold_time, 0) * 1000 AS hold,
    coalesce(work_time, 0) * 1000 AS work,
    CASE
      WHEN queue_disposition = 1 AND contact_disposition = 4 THEN 'aborted'
      WHEN queue_disposition = 1 THEN 'abandoned'
      WHEN queue_disposition = 2 AND coalesce(talk_time, 0) > 0 THEN 'handled'
      WHEN queue_disposition = 2 THEN 'handled_without_talk'
      WHEN queue_disposition = 3 THEN 'dequeued'
      WHEN queue_disposition = 4 THEN 'script'
      WHEN queue_disposition = 5 THEN 'other'
    END AS d
  FROM raw
),
agg AS (
  SELECT queue_id, k,
    count(*) AS presented,
    count(*) FILTER (d = 'handled') AS handled,
    count(*) FILTER (d = 'handled_without_talk') AS handled_without_talk,
    count(*) FILTER (d IN ('abandoned', 'aborted')) AS abandoned,
    count(*) FILTER (d = 'aborted') AS aborted,
    count(*) FILTER (d = 'dequeued') AS dequeued,
    count(*) FILTER (d = 'script') AS handled_by_script,
    count(*) FILTER (d = 'other') AS handled_by_other_queue,
    coalesce(sum(talk) FILTER (d = 'handled'), 0) AS talk_ms,
    coalesce(sum(hold) FILTER (d = 'handled'), 0) AS hold_ms,
    coalesce(sum(work) FILTER (d = 'handled'), 0) AS work_ms,
    coalesce(sum(wait) FILTER (d = 'handled'), 0) AS answer_wait_ms,
    sum(wait) AS queue_time_ms,
    count(*) FILTER (wait > 0) AS queued,
    count(*) FILTER (d = 'handled' AND wait <= 20000) AS answered_within_sl,
    count(*) FILTER (d IN ('abandoned', 'aborted') AND wait <= 20000) AS abandoned_within_sl,
    max(wait) AS longest_wait_ms,
    coalesce(max(wait) FILTER (d = 'handled'), 0) AS longest_answer_wait_ms,
    coalesce(max(wait) FILTER (d IN ('abandoned', 'aborted')), 0) AS longest_abandon_wait_ms
  FROM legs GROUP BY queue_id, k
)
SELECT queue_id,
  strftime(make_timestamp(k * 900000 * 1000), '%Y-%m-%d %H:%M:%S') AS interval_start,
  15 AS interval_minutes,
  presented, handled, handled_without_talk, abandoned, aborted, dequeued, handled_by_script,
  handled_by_other_queue, talk_ms, hold_ms, work_ms, answer_wait_ms, queue_time_ms, queued,
  answered_within_sl, abandoned_within_sl, longest_wait_ms, longest_answer_wait_ms,
  longest_abandon_wait_ms,
  CASE WHEN handled > 0 THEN (talk_ms + hold_ms + work_ms) / handled END AS aht_ms,
  CASE WHEN handled > 0 THEN answer_wait_ms / handled END AS asa_ms,
  CASE WHEN handled > 0 THEN answered_within_sl / handled END AS sl_only_handled,
  CASE WHEN presented - abandoned_within_sl > 0
       THEN answered_within_sl / (presented - abandoned_within_sl) END AS sl_without_abandon,
  (answered_within_sl + abandoned_within_sl) / presented AS sl_positive_abandon,
  answered_within_sl / presented AS sl_negative_abandon
FROM agg ORDER BY queue_id, k
) TO '{out}' (HEADER, DELIMITER ',');
"""

started = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(SQL)
print(f"duckdb {duckdb.__version__}: query {time.perf_counter() - started:.3f} s "
      f"({threads} threads)", file=sys.stderr)
