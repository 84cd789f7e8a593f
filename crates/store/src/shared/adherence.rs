// Adherence inputs: schedules, activity definitions and rules, authorized exceptions, shared by
// both backends. `include!`d into `sqlite.rs` and `postgres.rs`, which define `Pool`, `Conn`,
// `Db`, `begin_sync`, `in_ids` and `ids_param`.

use crate::adherence::{
    instant as adherence_instant, parse_state_text, state_text, ScheduleReplaced, StoredException,
};
use wfm_adherence::{
    Activity as AdherenceActivity, ActivityKind, AuthorizedException, Rule as AdherenceRule,
    RuleBook, ScheduledActivity, Status as AdherenceStatus,
};

fn adherence_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn adherence_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Replaces the schedule of `agents` in `[from, to)` (see [`crate::Store::replace_schedule`]).
pub(crate) async fn replace_schedule(
    pool: &Pool,
    project: &ProjectId,
    agents: &[String],
    from: i64,
    to: i64,
    entries: &[ScheduledActivity],
) -> Result<ScheduleReplaced, StoreError> {
    let mut tx = begin_sync(pool, project.as_str(), "adherence/schedules", "adherence").await?;
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    let removed = sqlx::query(&format!(
        "DELETE FROM schedules WHERE project_id = $1 AND start_ms >= $2 AND start_ms < $3 \
         AND {}",
        in_ids("agent", 4)
    ))
    .bind(project.as_str())
    .bind(from)
    .bind(to)
    .bind(ids_param(agents))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut inserted = 0u64;
    for (position, entry) in entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO schedules (project_id, agent, activity, start_ms, end_ms, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project.as_str())
        .bind(&entry.agent)
        .bind(&entry.activity)
        .bind(crate::intervals::to_ms(entry.start))
        .bind(crate::intervals::to_ms(entry.end))
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        inserted += 1;
    }
    tx.commit().await?;
    Ok(ScheduleReplaced { removed, inserted })
}

/// Schedule entries overlapping `[from, to)`.
pub(crate) async fn schedule(
    pool: &Pool,
    project: &ProjectId,
    agents: Option<&[String]>,
    from: i64,
    to: i64,
) -> Result<Vec<ScheduledActivity>, StoreError> {
    let filter = match agents {
        Some(_) => format!(" AND {}", in_ids("agent", 4)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT agent, activity, start_ms, end_ms FROM schedules \
         WHERE project_id = $1 AND start_ms < $3 AND end_ms > $2{filter} \
         ORDER BY agent, start_ms, position"
    );
    let mut query = sqlx::query_as::<Db, (String, String, i64, i64)>(&sql)
        .bind(project.as_str())
        .bind(from)
        .bind(to);
    if let Some(agents) = agents {
        query = query.bind(ids_param(agents));
    }
    let rows = query.fetch_all(pool).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for (agent, activity, start, end) in rows {
        entries.push(ScheduledActivity {
            agent,
            activity,
            start: adherence_instant(start)?,
            end: adherence_instant(end)?,
        });
    }
    Ok(entries)
}

/// Replaces the activity definitions and rules.
pub(crate) async fn put_adherence_rules(
    pool: &Pool,
    project: &ProjectId,
    rules: &RuleBook,
) -> Result<(), StoreError> {
    let mut tx = begin_sync(pool, project.as_str(), "adherence/rules", "adherence").await?;
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    for table in ["adherence_activities", "adherence_rules"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1"))
            .bind(project.as_str())
            .execute(&mut *tx)
            .await?;
    }
    for activity in &rules.activities {
        sqlx::query(
            "INSERT INTO adherence_activities \
             (project_id, id, name, kind, tolerance_start_ms, tolerance_end_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project.as_str())
        .bind(&activity.id)
        .bind(&activity.name)
        .bind(activity.kind.as_str())
        .bind(adherence_ms(activity.tolerance_start))
        .bind(adherence_ms(activity.tolerance_end))
        .execute(&mut *tx)
        .await?;
    }
    for (position, rule) in rules.rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO adherence_rules \
             (project_id, position, activity, state, reason_code, status) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project.as_str())
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(rule.activity.as_deref())
        .bind(state_text(rule.state)?)
        .bind(rule.reason_code)
        .bind(rule.status.as_str())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The activity definitions and rules.
pub(crate) async fn adherence_rules(
    pool: &Pool,
    project: &ProjectId,
) -> Result<RuleBook, StoreError> {
    let activities: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, name, kind, tolerance_start_ms, tolerance_end_ms FROM adherence_activities \
         WHERE project_id = $1 ORDER BY id",
    )
    .bind(project.as_str())
    .fetch_all(pool)
    .await?;
    let rules: Vec<(Option<String>, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT activity, state, reason_code, status FROM adherence_rules \
         WHERE project_id = $1 ORDER BY position",
    )
    .bind(project.as_str())
    .fetch_all(pool)
    .await?;
    let mut book = RuleBook::default();
    for (id, name, kind, start, end) in activities {
        let kind = ActivityKind::parse(&kind)
            .ok_or_else(|| StoreError::corrupt(format!("stored activity kind {kind:?}")))?;
        book.activities.push(AdherenceActivity {
            id,
            name,
            kind,
            tolerance_start: adherence_duration(start),
            tolerance_end: adherence_duration(end),
        });
    }
    for (activity, state, reason_code, status) in rules {
        let status = AdherenceStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("stored adherence status {status:?}")))?;
        book.rules.push(AdherenceRule {
            activity,
            state: parse_state_text(&state)?,
            reason_code,
            status,
        });
    }
    Ok(book)
}

/// Stores one authorized exception.
pub(crate) async fn add_adherence_exception(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    exception: &AuthorizedException,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let mut conn = pool.acquire().await?;
    if !project_exists(&mut conn, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO adherence_exceptions \
         (project_id, id, agent, start_ms, end_ms, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(project.as_str())
    .bind(&id)
    .bind(&exception.agent)
    .bind(crate::intervals::to_ms(exception.start))
    .bind(crate::intervals::to_ms(exception.end))
    .bind(fields.seal("adherence_exceptions", "note", &id, &exception.note)?)
    .bind(format_time(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Authorized exceptions overlapping `[from, to)`.
pub(crate) async fn adherence_exceptions(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    agents: Option<&[String]>,
    from: i64,
    to: i64,
) -> Result<Vec<StoredException>, StoreError> {
    let filter = match agents {
        Some(_) => format!(" AND {}", in_ids("agent", 4)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT id, agent, start_ms, end_ms, note FROM adherence_exceptions \
         WHERE project_id = $1 AND start_ms < $3 AND end_ms > $2{filter} \
         ORDER BY agent, start_ms, id"
    );
    let mut query = sqlx::query_as::<Db, (String, String, i64, i64, String)>(&sql)
        .bind(project.as_str())
        .bind(from)
        .bind(to);
    if let Some(agents) = agents {
        query = query.bind(ids_param(agents));
    }
    let rows = query.fetch_all(pool).await?;
    let mut found = Vec::with_capacity(rows.len());
    for (id, agent, start, end, note) in rows {
        let note = fields.open("adherence_exceptions", "note", &id, note)?;
        found.push(StoredException {
            id,
            exception: AuthorizedException {
                agent,
                start: adherence_instant(start)?,
                end: adherence_instant(end)?,
                note,
            },
        });
    }
    Ok(found)
}
