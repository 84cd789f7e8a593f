// Agent states: reason codes, state batches (history windows and live appends), feed gaps and
// the timeline reads, shared by both backends. `include!`d into `sqlite.rs` and `postgres.rs`,
// which define `Pool`, `Conn`, `Db`, `begin_sync`, `insert_batch`, `in_ids` and `ids_param`.

use crate::states::{
    build_segments, category_name, diff_states, event_rows, instant as state_instant,
    parse_category, parse_state, validate_reason_codes, validate_state_batch, HeldEvent,
    LatestState, ReasonLabels, SourceGap, StateOutcome, TimelineEvent, AGENT_COLUMNS,
    REASON_COLUMNS,
};
use wfm_protocol::states::{
    ReasonCode, ReasonCodeSet, ReasonCodeSetResponse, ReasonCodeView, StateBatch,
    StateBatchResponse, StateSegment,
};

/// The answer stored under `key`: `Some` to replay, [`StoreError::IdempotencyConflict`] for
/// another request under the same key. Rolls the transaction back when it answers.
async fn states_stored_answer<R: serde::de::DeserializeOwned>(
    tx: &mut sqlx::Transaction<'static, Db>,
    project: &ProjectId,
    key: &str,
    request_hash: &str,
) -> Result<Option<R>, StoreError> {
    let stored: Option<(String, String)> = sqlx::query_as(
        "SELECT request_hash, body FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project.as_str())
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((stored_hash, body)) = stored else {
        return Ok(None);
    };
    if stored_hash != request_hash {
        return Err(StoreError::IdempotencyConflict);
    }
    Ok(Some(serde_json::from_str(&body)?))
}

/// Stores the 200 answer under the idempotency key.
async fn states_store_answer<R: serde::Serialize>(
    conn: &mut Conn,
    project: &ProjectId,
    key: &str,
    request_hash: &str,
    answer: &R,
    stamp: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(project.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(200i32)
    .bind(serde_json::to_string(answer)?)
    .bind(stamp)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores the reason-code set of one source (see [`crate::Store::put_reason_codes`]).
pub(crate) async fn put_reason_codes(
    pool: &Pool,
    project: &ProjectId,
    set: &ReasonCodeSet,
    key: &str,
    request_hash: &str,
    now: OffsetDateTime,
) -> Result<StateOutcome<ReasonCodeSetResponse>, StoreError> {
    let problems = validate_reason_codes(set);
    if !problems.is_empty() {
        return Ok(StateOutcome::Rejected(problems));
    }
    let source = set.source.as_str();
    let mut tx = begin_sync(
        pool,
        project.as_str(),
        &format!("reason-codes/{source}"),
        key,
    )
    .await?;
    if let Some(answer) = states_stored_answer(&mut tx, project, key, request_hash).await? {
        tx.rollback().await?;
        return Ok(StateOutcome::Replay(answer));
    }
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    type Held = (String, i64, String, String, bool, bool, bool);
    let held: Vec<Held> = sqlx::query_as(
        "SELECT id, code, label, category, system_code, for_all, active FROM reason_codes \
         WHERE project_id = $1 AND source = $2",
    )
    .bind(project.as_str())
    .bind(source)
    .fetch_all(&mut *tx)
    .await?;
    let mut held: HashMap<String, (ReasonCode, bool)> = held
        .into_iter()
        .map(
            |(id, code, label, category, system_code, for_all, active)| {
                let category = parse_category(&category)?;
                let code = ReasonCode {
                    id: id.clone(),
                    code,
                    label,
                    category,
                    system_code,
                    for_all,
                };
                Ok((id, (code, active)))
            },
        )
        .collect::<Result<_, StoreError>>()?;
    let stamp = format_time(now);
    let mut counts = ReasonCodeSetResponse {
        inserted: 0,
        updated: 0,
        unchanged: 0,
        deactivated: 0,
    };
    let mut inserts = Batch::new("reason_codes", REASON_COLUMNS);
    for code in &set.codes {
        match held.remove(&code.id) {
            Some((stored, true)) if stored == *code => counts.unchanged += 1,
            Some(_) => {
                counts.updated += 1;
                sqlx::query(
                    "UPDATE reason_codes SET code = $4, label = $5, category = $6, \
                     system_code = $7, for_all = $8, active = $9, updated_at = $10 \
                     WHERE project_id = $1 AND source = $2 AND id = $3",
                )
                .bind(project.as_str())
                .bind(source)
                .bind(&code.id)
                .bind(code.code)
                .bind(&code.label)
                .bind(category_name(code.category))
                .bind(code.system_code)
                .bind(code.for_all)
                .bind(true)
                .bind(&stamp)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                counts.inserted += 1;
                inserts.push([
                    Val::T(project.to_string()),
                    Val::T(source.to_string()),
                    Val::T(code.id.clone()),
                    Val::L(code.code),
                    Val::T(code.label.clone()),
                    Val::T(category_name(code.category).to_string()),
                    Val::B(code.system_code),
                    Val::B(code.for_all),
                    Val::B(true),
                    Val::T(stamp.clone()),
                ])?;
            }
        }
    }
    insert_batch(&mut tx, &inserts).await?;
    let mut gone: Vec<String> = held
        .into_iter()
        .filter(|(_, (_, active))| *active)
        .map(|(id, _)| id)
        .collect();
    gone.sort();
    counts.deactivated = u64::try_from(gone.len()).unwrap_or(u64::MAX);
    if !gone.is_empty() {
        let sql = format!(
            "UPDATE reason_codes SET active = $3, updated_at = $4 \
             WHERE project_id = $1 AND source = $2 AND {}",
            in_ids("id", 5)
        );
        sqlx::query(&sql)
            .bind(project.as_str())
            .bind(source)
            .bind(false)
            .bind(&stamp)
            .bind(ids_param(&gone))
            .execute(&mut *tx)
            .await?;
    }
    states_store_answer(&mut tx, project, key, request_hash, &counts, &stamp).await?;
    tx.commit().await?;
    Ok(StateOutcome::Applied(counts))
}

/// Every reason code of the project, ordered by (source, id).
pub(crate) async fn reason_codes(
    pool: &Pool,
    project: &ProjectId,
) -> Result<Vec<ReasonCodeView>, StoreError> {
    type Row = (String, String, i64, String, String, bool, bool, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT source, id, code, label, category, system_code, for_all, active \
         FROM reason_codes WHERE project_id = $1 ORDER BY source, id",
    )
    .bind(project.as_str())
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (source, id, code, label, category, system_code, for_all, active) in rows {
        out.push(ReasonCodeView {
            source,
            code: ReasonCode {
                id,
                code,
                label,
                category: parse_category(&category)?,
                system_code,
                for_all,
            },
            active,
        });
    }
    Ok(out)
}

/// The reason labels of the project.
async fn states_labels(conn: &mut Conn, project: &ProjectId) -> Result<ReasonLabels, StoreError> {
    let rows: Vec<(String, String, i64, String, String, bool)> = sqlx::query_as(
        "SELECT source, id, code, category, label, active FROM reason_codes WHERE project_id = $1",
    )
    .bind(project.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(ReasonLabels::new(rows))
}

/// The agent ids among `agents` that some directory user of the project carries as an
/// `agentId` attribute value or as its external id (disabled users count): one query with two
/// index probes per id (`user_attributes_agent_id`, `users_project_external`).
async fn states_known_agents(
    conn: &mut Conn,
    project: &ProjectId,
    agents: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut known = std::collections::HashSet::new();
    for chunk in agents.chunks(ID_CHUNK) {
        let sql = format!(
            "SELECT a.value FROM user_attributes a JOIN users u ON u.id = a.user_id \
             WHERE a.name = '{attr}' AND {in_attr} AND u.project_id = $1 \
             UNION SELECT external_id FROM users WHERE project_id = $1 AND {in_ext}",
            attr = wfm_model::directory::ATTR_AGENT_ID,
            in_attr = in_ids("a.value", 2),
            in_ext = in_ids("external_id", 2),
        );
        let ids = chunk.to_vec();
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(project.as_str())
            .bind(ids_param(&ids))
            .fetch_all(&mut *conn)
            .await?;
        known.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(known)
}

/// The held events of `source` with `at` in `[from, to)`.
async fn states_held(
    conn: &mut Conn,
    project: &ProjectId,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<HeldEvent>, StoreError> {
    let rows: Vec<(String, i64, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT agent, at_ms, state, reason_code, raw FROM agent_state_events \
         WHERE project_id = $1 AND source = $2 AND at_ms >= $3 AND at_ms < $4",
    )
    .bind(project.as_str())
    .bind(source)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (agent, at_ms, state, reason, raw) in rows {
        let state = crate::states::state_name(parse_state(&state)?);
        out.push(HeldEvent {
            key: (agent, at_ms, state, reason),
            raw,
        });
    }
    Ok(out)
}

/// Batches writing at least this many events are followed by `ANALYZE` (PostgreSQL).
const STATES_ANALYZE_ROWS: usize = 10_000;

/// Applies one state batch (see [`crate::Store::apply_state_batch`]).
pub(crate) async fn apply_state_batch(
    pool: &Pool,
    project: &ProjectId,
    batch: &StateBatch,
    key: &str,
    request_hash: &str,
    now: OffsetDateTime,
) -> Result<StateOutcome<StateBatchResponse>, StoreError> {
    let problems = validate_state_batch(batch);
    if !problems.is_empty() {
        return Ok(StateOutcome::Rejected(problems));
    }
    let source = batch.source.as_str();
    let started = std::time::Instant::now();
    let mut tx = begin_sync(pool, project.as_str(), &format!("states/{source}"), key).await?;
    if let Some(answer) = states_stored_answer(&mut tx, project, key, request_hash).await? {
        tx.rollback().await?;
        return Ok(StateOutcome::Replay(answer));
    }
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    // History: the window; live: the span of the batch's instants.
    let span = match batch.window {
        Some(w) => Some((to_ms(w.from), to_ms(w.to))),
        None => {
            let ats = batch.events.iter().map(|e| to_ms(e.at));
            match (ats.clone().min(), ats.max()) {
                (Some(min), Some(max)) => Some((min, max.saturating_add(1))),
                _ => None,
            }
        }
    };
    let held = match span {
        Some((from, to)) => states_held(&mut tx, project, source, from, to).await?,
        None => Vec::new(),
    };
    let mut diff = diff_states(batch, held);
    let loaded = started.elapsed();
    let mut agents: Vec<String> = diff
        .write
        .iter()
        .map(|&i| batch.events[i].agent.clone())
        .collect();
    agents.sort();
    agents.dedup();
    let known = states_known_agents(&mut tx, project, &agents).await?;
    let unknown: std::collections::HashSet<String> = agents
        .iter()
        .filter(|a| !known.contains(*a))
        .cloned()
        .collect();
    diff.counts.unknown_agents = diff
        .new
        .iter()
        .filter(|&&i| unknown.contains(&batch.events[i].agent))
        .count() as u64;
    let stamp = format_time(now);
    if diff.replace_window {
        if let Some((from, to)) = span {
            sqlx::query(
                "DELETE FROM agent_state_events \
                 WHERE project_id = $1 AND source = $2 AND at_ms >= $3 AND at_ms < $4",
            )
            .bind(project.as_str())
            .bind(source)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        }
    }
    let rows = event_rows(project.as_str(), batch, &diff.write, &unknown, &stamp)?;
    insert_batch(&mut tx, &rows).await?;
    states_register_agents(&mut tx, project, source, &agents, &stamp).await?;
    for gap in &batch.gaps {
        sqlx::query(
            "INSERT INTO feed_gaps (project_id, source, from_ms, to_ms, reason, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, source, from_ms) \
             DO UPDATE SET to_ms = excluded.to_ms, reason = excluded.reason, \
             received_at = excluded.received_at",
        )
        .bind(project.as_str())
        .bind(source)
        .bind(to_ms(gap.from))
        .bind(gap.to.map(to_ms))
        .bind(&gap.reason)
        .bind(&stamp)
        .execute(&mut *tx)
        .await?;
    }
    states_store_answer(&mut tx, project, key, request_hash, &diff.counts, &stamp).await?;
    let written = started.elapsed();
    tx.commit().await?;
    if diff.write.len() >= STATES_ANALYZE_ROWS && <Db as sqlx::Database>::NAME == "PostgreSQL" {
        // Fresh statistics right after a large load: without them the planner takes the
        // (source, at) index for the per-agent newest-event probes of the reads (seconds
        // instead of milliseconds until autovacuum analyzes the table).
        if let Err(e) = sqlx::query("ANALYZE agent_state_events")
            .execute(pool)
            .await
        {
            tracing::warn!(error = %e, "ANALYZE agent_state_events failed");
        }
    }
    tracing::debug!(
        project = project.as_str(),
        source,
        events = batch.events.len(),
        history = batch.window.is_some(),
        accepted = diff.counts.accepted,
        duplicates = diff.counts.duplicates,
        removed = diff.counts.removed,
        unknown_agents = diff.counts.unknown_agents,
        load_ms = loaded.as_millis() as u64,
        write_ms = (written - loaded).as_millis() as u64,
        commit_ms = (started.elapsed() - written).as_millis() as u64,
        "state batch stored"
    );
    Ok(StateOutcome::Applied(diff.counts))
}

/// Adds the agents (sorted, distinct) not yet listed in `state_agents`.
async fn states_register_agents(
    conn: &mut Conn,
    project: &ProjectId,
    source: &str,
    agents: &[String],
    stamp: &str,
) -> Result<(), StoreError> {
    let mut listed: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in agents.chunks(ID_CHUNK) {
        let sql = format!(
            "SELECT agent FROM state_agents WHERE project_id = $1 AND source = $2 AND {}",
            in_ids("agent", 3)
        );
        let ids = chunk.to_vec();
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(project.as_str())
            .bind(source)
            .bind(ids_param(&ids))
            .fetch_all(&mut *conn)
            .await?;
        listed.extend(rows.into_iter().map(|(a,)| a));
    }
    let mut rows = Batch::new("state_agents", AGENT_COLUMNS);
    for agent in agents.iter().filter(|a| !listed.contains(*a)) {
        rows.push([
            Val::T(project.to_string()),
            Val::T(source.to_string()),
            Val::T(agent.clone()),
            Val::T(stamp.to_string()),
        ])?;
    }
    insert_batch(conn, &rows).await
}

/// A timeline event from a row of (source, agent, id, at_ms, state, reason_code).
fn states_timeline_event(
    row: (String, String, i64, i64, String, Option<i64>),
) -> Result<TimelineEvent, StoreError> {
    let (source, agent, id, at_ms, state, reason_code) = row;
    Ok(TimelineEvent {
        source,
        agent,
        id,
        at_ms,
        state: parse_state(&state)?,
        reason_code,
    })
}

/// ` AND a.source = $n AND a.agent = $m` for the filters given, starting at `$first`.
fn states_agent_filter(source: Option<&str>, agent: Option<&str>, first: usize) -> String {
    let mut sql = String::new();
    let mut n = first;
    if source.is_some() {
        sql.push_str(&format!(" AND a.source = ${n}"));
        n += 1;
    }
    if agent.is_some() {
        sql.push_str(&format!(" AND a.agent = ${n}"));
    }
    sql
}

/// The newest event before `before` of every listed agent matching the filters:
/// (source, agent, id, at_ms, state, reason_code, unknown_agent).
async fn states_newest_before(
    conn: &mut Conn,
    project: &ProjectId,
    source: Option<&str>,
    agent: Option<&str>,
    before: i64,
) -> Result<Vec<(String, String, i64, i64, String, Option<i64>, bool)>, StoreError> {
    // One index probe per listed agent. PostgreSQL would evaluate a correlated `e.id = (…)`
    // join condition once per event row, so it gets a LATERAL join (which SQLite lacks; its
    // planner probes the subquery once per agent and looks the event up by rowid).
    const NEWEST: &str = "SELECT l.id FROM agent_state_events l WHERE l.project_id = a.project_id \
         AND l.source = a.source AND l.agent = a.agent AND l.at_ms < $2 \
         ORDER BY l.at_ms DESC, l.id DESC LIMIT 1";
    let join = if <Db as sqlx::Database>::NAME == "PostgreSQL" {
        format!("CROSS JOIN LATERAL ({NEWEST}) n JOIN agent_state_events e ON e.id = n.id")
    } else {
        format!("JOIN agent_state_events e ON e.id = ({NEWEST})")
    };
    let sql = format!(
        "SELECT e.source, e.agent, e.id, e.at_ms, e.state, e.reason_code, e.unknown_agent \
         FROM state_agents a {join} WHERE a.project_id = $1{}",
        states_agent_filter(source, agent, 3)
    );
    let mut query = sqlx::query_as(&sql).bind(project.as_str()).bind(before);
    if let Some(source) = source {
        query = query.bind(source);
    }
    if let Some(agent) = agent {
        query = query.bind(agent);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Timeline segments of `[from, to)` (see [`crate::Store::state_segments`]).
pub(crate) async fn state_segments(
    pool: &Pool,
    project: &ProjectId,
    source: Option<&str>,
    agent: Option<&str>,
    from: i64,
    to: i64,
) -> Result<Vec<StateSegment>, StoreError> {
    let mut tx = pool.begin_with(READ_TX).await?;
    let before: Vec<TimelineEvent> = states_newest_before(&mut tx, project, source, agent, from)
        .await?
        .into_iter()
        .map(|(s, a, id, at, st, r, _)| states_timeline_event((s, a, id, at, st, r)))
        .collect::<Result<_, _>>()?;
    // The first instant at or after `to` of every agent: the end of its last segment.
    let sql = format!(
        "SELECT a.source, a.agent, (SELECT MIN(l.at_ms) FROM agent_state_events l \
           WHERE l.project_id = a.project_id AND l.source = a.source AND l.agent = a.agent \
           AND l.at_ms >= $2) \
         FROM state_agents a WHERE a.project_id = $1{}",
        states_agent_filter(source, agent, 3)
    );
    let mut query = sqlx::query_as(&sql).bind(project.as_str()).bind(to);
    if let Some(source) = source {
        query = query.bind(source);
    }
    if let Some(agent) = agent {
        query = query.bind(agent);
    }
    let rows: Vec<(String, String, Option<i64>)> = query.fetch_all(&mut *tx).await?;
    let next: HashMap<(String, String), i64> = rows
        .into_iter()
        .filter_map(|(s, a, at)| at.map(|at| ((s, a), at)))
        .collect();
    // Events inside the range, one source at a time (the (project, source, at) index).
    let sources: Vec<String> = match source {
        Some(s) => vec![s.to_string()],
        None => sqlx::query_as::<_, (String,)>(
            "SELECT DISTINCT source FROM state_agents WHERE project_id = $1",
        )
        .bind(project.as_str())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(s,)| s)
        .collect(),
    };
    let mut inside = Vec::new();
    for s in &sources {
        let mut sql =
            "SELECT source, agent, id, at_ms, state, reason_code FROM agent_state_events \
             WHERE project_id = $1 AND source = $2 AND at_ms >= $3 AND at_ms < $4"
                .to_string();
        if agent.is_some() {
            sql.push_str(" AND agent = $5");
        }
        let mut query = sqlx::query_as(&sql)
            .bind(project.as_str())
            .bind(s)
            .bind(from)
            .bind(to);
        if let Some(agent) = agent {
            query = query.bind(agent);
        }
        let rows: Vec<(String, String, i64, i64, String, Option<i64>)> =
            query.fetch_all(&mut *tx).await?;
        for row in rows {
            inside.push(states_timeline_event(row)?);
        }
    }
    let labels = states_labels(&mut tx, project).await?;
    tx.commit().await?;
    build_segments(before, inside, &next, from, &labels)
}

/// The newest event of every agent (see [`crate::Store::latest_states`]).
pub(crate) async fn latest_states(
    pool: &Pool,
    project: &ProjectId,
) -> Result<Vec<LatestState>, StoreError> {
    let mut tx = pool.begin_with(READ_TX).await?;
    let rows = states_newest_before(&mut tx, project, None, None, i64::MAX).await?;
    let labels = states_labels(&mut tx, project).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for (source, agent, _id, at_ms, state, reason_code, unknown_agent) in rows {
        let state = parse_state(&state)?;
        out.push(LatestState {
            reason_label: labels.label(&source, state, reason_code),
            source,
            agent,
            state,
            reason_code,
            since: state_instant(at_ms)?,
            unknown_agent,
        });
    }
    out.sort_by(|a, b| (&a.source, &a.agent).cmp(&(&b.source, &b.agent)));
    Ok(out)
}

/// Feed gaps overlapping `[from, to)` (see [`crate::Store::feed_gaps`]).
pub(crate) async fn feed_gaps(
    pool: &Pool,
    project: &ProjectId,
    source: Option<&str>,
    from: i64,
    to: i64,
) -> Result<Vec<SourceGap>, StoreError> {
    let mut sql = "SELECT source, from_ms, to_ms, reason FROM feed_gaps \
         WHERE project_id = $1 AND from_ms < $3 AND (to_ms IS NULL OR to_ms > $2)"
        .to_string();
    if source.is_some() {
        sql.push_str(" AND source = $4");
    }
    sql.push_str(" ORDER BY source, from_ms");
    let mut query = sqlx::query_as(&sql)
        .bind(project.as_str())
        .bind(from)
        .bind(to);
    if let Some(source) = source {
        query = query.bind(source);
    }
    let rows: Vec<(String, i64, Option<i64>, String)> = query.fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (source, from_ms, to_ms, reason) in rows {
        out.push(SourceGap {
            source,
            from: state_instant(from_ms)?,
            to: to_ms.map(state_instant).transpose()?,
            reason,
        });
    }
    Ok(out)
}

/// The newest event instant of every source of the project (index probes per source).
pub(crate) async fn newest_state_events(
    pool: &Pool,
    project: &ProjectId,
) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT s.source, (SELECT MAX(e.at_ms) FROM agent_state_events e \
           WHERE e.project_id = $1 AND e.source = s.source) \
         FROM (SELECT DISTINCT source FROM state_agents WHERE project_id = $1) s \
         ORDER BY s.source",
    )
    .bind(project.as_str())
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (source, newest) in rows {
        if let Some(ms) = newest {
            out.push((source, state_instant(ms)?));
        }
    }
    Ok(out)
}
