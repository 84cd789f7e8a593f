// Queue intervals: the replace-a-window transaction and the reads, shared by both backends.
// `include!`d into `sqlite.rs` and `postgres.rs`, which define `Pool`, `Conn`, `begin_sync`,
// `insert_batch`, `in_ids`, `ids_param` and `delete_interval_keys`.

/// Applies one interval batch in one transaction (see [`crate::Store::apply_interval_batch`]).
pub(crate) async fn apply_interval_batch(
    pool: &Pool,
    project: &ProjectId,
    batch: &IntervalBatch,
    key: &str,
    request_hash: &str,
    now: OffsetDateTime,
) -> Result<IntervalOutcome, StoreError> {
    let problems = validate_interval_batch(batch);
    if !problems.is_empty() {
        return Ok(IntervalOutcome::Rejected(problems));
    }
    let source = batch.source.as_str();
    let started = std::time::Instant::now();
    // The lock name keeps interval batches of a source apart from its directory syncs.
    let mut tx = begin_sync(pool, project.as_str(), &format!("intervals/{source}"), key).await?;
    let stored: Option<(String, i32, String)> = sqlx::query_as(
        "SELECT request_hash, status, body FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project.as_str())
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((stored_hash, _status, body)) = stored {
        tx.rollback().await?;
        if stored_hash != request_hash {
            return Err(StoreError::IdempotencyConflict);
        }
        let response: IntervalBatchResponse = serde_json::from_str(&body)?;
        return Ok(IntervalOutcome::Replay(response));
    }
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    let held_queues: Vec<(String, String, i32, String)> = sqlx::query_as(
        "SELECT queue_id, name, interval_minutes, time_zone FROM interval_queues \
         WHERE project_id = $1 AND source = $2",
    )
    .bind(project.as_str())
    .bind(source)
    .fetch_all(&mut *tx)
    .await?;
    let lengths: HashMap<String, i32> = held_queues
        .iter()
        .map(|(id, _, minutes, _)| (id.clone(), *minutes))
        .collect();
    let problems = check_stored_lengths(batch, &lengths);
    if !problems.is_empty() {
        tx.rollback().await?;
        return Ok(IntervalOutcome::Rejected(problems));
    }
    let from = to_ms(batch.window.from);
    let to = to_ms(batch.window.to);
    let stored = load_window(&mut tx, project, source, from, to).await?;
    let stamp = format_time(now);
    let mut diff = diff_intervals(project.as_str(), batch, stored, &stamp)?;
    let loaded = started.elapsed();
    delete_interval_keys(&mut tx, project.as_str(), source, &diff.delete).await?;
    insert_batch(&mut tx, &diff.write).await?;
    diff.counts.new_queues = upsert_queues(&mut tx, project, batch, &held_queues, &stamp).await?;
    add_coverage(&mut tx, project, source, from, to).await?;
    let body = serde_json::to_string(&diff.counts)?;
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(project.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(200i32)
    .bind(&body)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    let written = started.elapsed();
    tx.commit().await?;
    tracing::debug!(
        project = project.as_str(),
        source,
        rows = batch.rows.len(),
        inserted = diff.counts.inserted,
        updated = diff.counts.updated,
        unchanged = diff.counts.unchanged,
        removed = diff.counts.removed,
        load_ms = loaded.as_millis() as u64,
        write_ms = (written - loaded).as_millis() as u64,
        commit_ms = (started.elapsed() - written).as_millis() as u64,
        "interval batch stored"
    );
    Ok(IntervalOutcome::Applied(diff.counts))
}

/// The figures of a result row starting at column `first`.
fn figures_at(
    row: &<Db as sqlx::Database>::Row,
    first: usize,
) -> Result<IntervalFigures, StoreError> {
    let mut values = [0u64; FIGURE_COUNT];
    for (i, value) in values.iter_mut().enumerate() {
        let v: i64 = row.try_get(first + i)?;
        *value = u64::try_from(v).map_err(StoreError::corrupt)?;
    }
    Ok(figures_from_array(values))
}

/// The stored intervals of one source whose start lies in `[from, to)`.
async fn load_window(
    conn: &mut Conn,
    project: &ProjectId,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<StoredInterval>, StoreError> {
    let sql = format!(
        "SELECT queue_id, start_ms, version, {FIGURE_COLUMNS} FROM intervals \
         WHERE project_id = $1 AND source = $2 AND start_ms >= $3 AND start_ms < $4"
    );
    let rows = sqlx::query(&sql)
        .bind(project.as_str())
        .bind(source)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(StoredInterval {
            queue: row.try_get(0)?,
            start_ms: row.try_get(1)?,
            version: row.try_get(2)?,
            figures: figures_at(row, 3)?,
        });
    }
    Ok(out)
}

/// Creates the batch's new queues and updates names and time zones that changed; answers the
/// number of new queues.
async fn upsert_queues(
    conn: &mut Conn,
    project: &ProjectId,
    batch: &IntervalBatch,
    held: &[(String, String, i32, String)],
    stamp: &str,
) -> Result<u64, StoreError> {
    let held: HashMap<&str, (&str, &str)> = held
        .iter()
        .map(|(id, name, _, tz)| (id.as_str(), (name.as_str(), tz.as_str())))
        .collect();
    let minutes = i32::try_from(batch.interval_minutes).unwrap_or(i32::MAX);
    let mut new_queues = 0u64;
    for queue in &batch.queues {
        match held.get(queue.id.as_str()) {
            None => {
                new_queues += 1;
                sqlx::query(
                    "INSERT INTO interval_queues (project_id, source, queue_id, name, \
                     interval_minutes, time_zone, first_seen, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(project.as_str())
                .bind(&batch.source)
                .bind(&queue.id)
                .bind(&queue.name)
                .bind(minutes)
                .bind(&batch.time_zone)
                .bind(stamp)
                .execute(&mut *conn)
                .await?;
            }
            Some((name, tz)) if *name != queue.name || *tz != batch.time_zone => {
                sqlx::query(
                    "UPDATE interval_queues SET name = $4, time_zone = $5, updated_at = $6 \
                     WHERE project_id = $1 AND source = $2 AND queue_id = $3",
                )
                .bind(project.as_str())
                .bind(&batch.source)
                .bind(&queue.id)
                .bind(&queue.name)
                .bind(&batch.time_zone)
                .bind(stamp)
                .execute(&mut *conn)
                .await?;
            }
            Some(_) => {}
        }
    }
    Ok(new_queues)
}

/// Records `[from, to)` as covered, merged with every stored range it overlaps or touches.
async fn add_coverage(
    conn: &mut Conn,
    project: &ProjectId,
    source: &str,
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    let touching: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT from_ms, to_ms FROM interval_coverage \
         WHERE project_id = $1 AND source = $2 AND to_ms >= $3 AND from_ms <= $4",
    )
    .bind(project.as_str())
    .bind(source)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let (merged_from, merged_to) = merge_range((from, to), &touching);
    if touching.len() == 1 && touching[0] == (merged_from, merged_to) {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM interval_coverage \
         WHERE project_id = $1 AND source = $2 AND to_ms >= $3 AND from_ms <= $4",
    )
    .bind(project.as_str())
    .bind(source)
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO interval_coverage (project_id, source, from_ms, to_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(project.as_str())
    .bind(source)
    .bind(merged_from)
    .bind(merged_to)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Intervals of the project starting in `[from, to)`, ordered by (start, source, queue).
pub(crate) async fn query_intervals(
    pool: &Pool,
    project: &ProjectId,
    source: Option<&str>,
    queues: Option<&[String]>,
    from: i64,
    to: i64,
) -> Result<Vec<IntervalView>, StoreError> {
    let mut sql = format!(
        "SELECT i.source, i.queue_id, COALESCE(q.name, i.queue_id), i.start_ms, \
         i.interval_minutes, i.version, {} \
         FROM intervals i LEFT JOIN interval_queues q ON q.project_id = i.project_id \
         AND q.source = i.source AND q.queue_id = i.queue_id \
         WHERE i.project_id = $1 AND i.start_ms >= $2 AND i.start_ms < $3",
        FIGURE_COLUMNS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut n = 3;
    if source.is_some() {
        n += 1;
        sql.push_str(&format!(" AND i.source = ${n}"));
    }
    if queues.is_some() {
        n += 1;
        sql.push_str(&format!(" AND {}", in_ids("i.queue_id", n)));
    }
    sql.push_str(" ORDER BY i.start_ms, i.source, i.queue_id");
    let mut query = sqlx::query(&sql).bind(project.as_str()).bind(from).bind(to);
    if let Some(source) = source {
        query = query.bind(source);
    }
    if let Some(queues) = queues {
        query = query.bind(ids_param(queues));
    }
    let rows = query.fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let start: i64 = row.try_get(3)?;
        let minutes: i32 = row.try_get(4)?;
        let version: i64 = row.try_get(5)?;
        out.push(IntervalView {
            source: row.try_get(0)?,
            queue: row.try_get(1)?,
            queue_name: row.try_get(2)?,
            start: from_ms(start)?,
            local_start: None,
            interval_minutes: u32::try_from(minutes).map_err(StoreError::corrupt)?,
            version: u64::try_from(version).map_err(StoreError::corrupt)?,
            figures: figures_at(row, 6)?,
        });
    }
    Ok(out)
}

/// Every queue of the project with the start of its newest stored interval.
pub(crate) async fn queues(pool: &Pool, project: &ProjectId) -> Result<Vec<QueueView>, StoreError> {
    let rows: Vec<(String, String, String, i32, String, Option<i64>)> = sqlx::query_as(
        "SELECT q.source, q.queue_id, q.name, q.interval_minutes, q.time_zone, \
         (SELECT MAX(i.start_ms) FROM intervals i WHERE i.project_id = q.project_id \
          AND i.source = q.source AND i.queue_id = q.queue_id) \
         FROM interval_queues q WHERE q.project_id = $1 ORDER BY q.source, q.queue_id",
    )
    .bind(project.as_str())
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (source, id, name, minutes, time_zone, newest) in rows {
        out.push(QueueView {
            source,
            id,
            name,
            interval_minutes: u32::try_from(minutes).map_err(StoreError::corrupt)?,
            time_zone,
            newest_interval: newest.map(from_ms).transpose()?,
        });
    }
    Ok(out)
}

/// The parts of `[from, to)` that no accepted batch of `source` covered.
pub(crate) async fn missing_ranges(
    pool: &Pool,
    project: &ProjectId,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<TimeRange>, StoreError> {
    let covered: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT from_ms, to_ms FROM interval_coverage \
         WHERE project_id = $1 AND source = $2 AND to_ms > $3 AND from_ms < $4 ORDER BY from_ms",
    )
    .bind(project.as_str())
    .bind(source)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    gaps(&covered, from, to)
        .into_iter()
        .map(|(f, t)| range_from_ms(f, t))
        .collect()
}
