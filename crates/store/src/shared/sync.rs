// The identity sync transaction, shared by both backends. `include!`d into `sqlite.rs` and
// `postgres.rs`, which define `Pool`, `Conn`, `begin_sync`, `insert_batch`, `update_batch`,
// `in_ids`, `ids_param` and `INSERT_RUN_SQL`.

/// The whole sync of one source in one transaction (see [`crate::Store::sync_directory`]).
pub(crate) async fn sync_directory(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    req: &SyncRequest,
    key: &str,
    request_hash: &str,
    now: OffsetDateTime,
) -> Result<SyncOutcome, StoreError> {
    let source = req.snapshot.source.as_str();
    let mut tx = begin_sync(pool, project.as_str(), source, key).await?;
    let stored: Option<(String, i32, String)> = sqlx::query_as(
        "SELECT request_hash, status, body FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project.as_str())
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((stored_hash, status, body)) = stored {
        tx.rollback().await?;
        if stored_hash != request_hash {
            return Err(StoreError::IdempotencyConflict);
        }
        let status = u16::try_from(status).map_err(StoreError::corrupt)?;
        let body = fields.open("idempotency_keys", "body", key, body)?;
        return Ok(SyncOutcome::Replay {
            status,
            body: body.into_bytes(),
        });
    }
    if !project_exists(&mut tx, project).await? {
        return Err(StoreError::UnknownProject(project.to_string()));
    }
    let known_roles = roles(&mut tx, project).await?;
    let started = std::time::Instant::now();
    let hashes = DesiredHashes::of(&req.snapshot)?.keyed(fields);
    let Loaded {
        current,
        stats,
        stale_users,
        stale_groups,
    } = load_current(&mut tx, fields, project, source, &req.snapshot, &hashes).await?;
    let loaded = started.elapsed();
    let limits = SafetyLimits {
        max_disable_ratio: req.max_disable_ratio,
        allow_mass_disable: req.allow_mass_disable,
    };
    let stamp = format_time(now);
    let mut run = SyncRun {
        id: new_id(),
        source: source.to_string(),
        started_at: stamp.clone(),
        finished_at: stamp.clone(),
        result: RunResult::Failed,
        summary: PlanSummary::default(),
        reason: None,
        warnings: req.warnings.clone(),
        change_count: 0,
    };
    let planned = wfm_sync::plan(&current, &req.snapshot, &known_roles, &limits);
    let planned_at = started.elapsed();
    let (status, body) = match planned {
        Err(err) => {
            run.reason = Some(err.to_string());
            insert_run(&mut tx, project, &run).await?;
            (422u16, serde_json::to_string(&failure_body(&err))?)
        }
        Ok(plan) => {
            run.summary = plan.summary;
            run.warnings.extend(plan.warnings.iter().cloned());
            run.reason = plan.refusal.clone();
            run.result = if plan.refusal.is_some() {
                RunResult::Refused
            } else if req.dry_run {
                RunResult::DryRun
            } else {
                RunResult::Applied
            };
            if run.result == RunResult::Applied {
                apply_plan(&mut tx, fields, project, &current, &plan, &hashes, &stamp).await?;
                refresh_hashes(&mut tx, &plan, stale_users, stale_groups).await?;
            }
            run.change_count =
                u64::try_from(plan.groups.len() + plan.users.len()).unwrap_or(u64::MAX);
            insert_run(&mut tx, project, &run).await?;
            insert_change_log(&mut tx, fields, &run.id, &plan).await?;
            let changes = plan
                .groups
                .iter()
                .cloned()
                .map(ObjectChange::Group)
                .chain(plan.users.iter().cloned().map(ObjectChange::User))
                .take(SYNC_RESPONSE_CHANGES)
                .collect();
            let status = if run.result == RunResult::Refused {
                409u16
            } else {
                200u16
            };
            let response = SyncResponse { run, changes };
            (status, serde_json::to_string(&response)?)
        }
    };
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(project.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(i32::from(status))
    .bind(fields.seal("idempotency_keys", "body", key, &body)?)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    let written = started.elapsed();
    tx.commit().await?;
    tracing::debug!(
        project = project.as_str(),
        source,
        status,
        users = stats.users,
        users_loaded = stats.users_loaded,
        groups = stats.groups,
        groups_loaded = stats.groups_loaded,
        load_ms = loaded.as_millis() as u64,
        plan_ms = (planned_at - loaded).as_millis() as u64,
        write_ms = (written - planned_at).as_millis() as u64,
        commit_ms = (started.elapsed() - written).as_millis() as u64,
        "directory sync stored"
    );
    Ok(SyncOutcome::Fresh {
        status,
        body: body.into_bytes(),
    })
}

async fn insert_run(conn: &mut Conn, project: &ProjectId, run: &SyncRun) -> Result<(), StoreError> {
    sqlx::query(INSERT_RUN_SQL)
        .bind(&run.id)
        .bind(project.as_str())
        .bind(&run.source)
        .bind(&run.started_at)
        .bind(&run.finished_at)
        .bind(run.result.as_str())
        .bind(serde_json::to_string(&run.summary)?)
        .bind(run.reason.as_deref())
        .bind(serde_json::to_string(&run.warnings)?)
        .bind(to_i64(run.change_count))
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_change_log(
    conn: &mut Conn,
    fields: &Fields,
    run_id: &str,
    plan: &Plan,
) -> Result<(), StoreError> {
    let mut batch = Batch::new("sync_run_changes", &["run_id", "seq", "change"]);
    let changes = plan
        .groups
        .iter()
        .map(ChangeRef::Group)
        .chain(plan.users.iter().map(ChangeRef::User));
    for (seq, change) in changes.enumerate() {
        let seq = i32::try_from(seq).unwrap_or(i32::MAX);
        let json = serde_json::to_string(&change)?;
        batch.push([
            Val::T(run_id.to_string()),
            Val::I(seq),
            Val::T(fields.seal("sync_run_changes", "change", &change_row(run_id, seq), &json)?),
        ])?;
    }
    insert_batch(conn, &batch).await
}

const USER_INSERT_COLUMNS: &[&str] = &[
    "id",
    "project_id",
    "source",
    "external_id",
    "username",
    "first_name",
    "last_name",
    "email",
    "enabled",
    "created_at",
    "updated_at",
    "content_hash",
];
const USER_UPDATE_COLUMNS: &[&str] = &[
    "id",
    "external_id",
    "username",
    "first_name",
    "last_name",
    "email",
    "enabled",
    "updated_at",
    "content_hash",
];
const GROUP_INSERT_COLUMNS: &[&str] = &[
    "id",
    "project_id",
    "source",
    "external_id",
    "name",
    "enabled",
    "created_at",
    "updated_at",
    "content_hash",
];
const GROUP_UPDATE_COLUMNS: &[&str] = &[
    "id",
    "external_id",
    "name",
    "enabled",
    "updated_at",
    "content_hash",
];
const USER_ATTRIBUTE_COLUMNS: &[&str] = &["user_id", "name", "value", "position"];
const GROUP_ATTRIBUTE_COLUMNS: &[&str] = &["group_id", "name", "value", "position"];

fn missing(what: &str, external_id: &ExternalId) -> StoreError {
    StoreError::corrupt(format!("plan for {what} '{external_id}' lacks {what} data"))
}

/// Writes a plan: groups (create/update/re-enable), users, then group disables.
async fn apply_plan(
    conn: &mut Conn,
    fields: &Fields,
    project: &ProjectId,
    current: &CurrentState,
    plan: &Plan,
    hashes: &DesiredHashes,
    stamp: &str,
) -> Result<(), StoreError> {
    let p = project.as_str();
    let source = plan.source.as_str();
    let mut group_ids: HashMap<&str, String> = current
        .groups
        .iter()
        .map(|g| (g.group.external_id.as_str(), g.id.clone()))
        .collect();

    let mut new_groups = Batch::new("groups", GROUP_INSERT_COLUMNS);
    let mut changed_groups = Batch::new("groups", GROUP_UPDATE_COLUMNS);
    let mut group_attributes = Batch::new("group_attributes", GROUP_ATTRIBUTE_COLUMNS);
    let mut rewritten_groups: Vec<String> = Vec::new();
    let mut disabled_groups: Vec<String> = Vec::new();
    let mut new_group_ids = sorted_new_ids(plan.groups.iter().filter(|c| c.op == Op::Create));
    for change in &plan.groups {
        if change.op == Op::Disable {
            let id = change
                .id
                .clone()
                .ok_or_else(|| missing("group", &change.external_id))?;
            disabled_groups.push(id);
            continue;
        }
        let desired = change
            .desired
            .as_ref()
            .ok_or_else(|| missing("group", &change.external_id))?;
        let id = match (&change.op, &change.id) {
            (Op::Create, _) => new_group_ids.next().unwrap_or_else(new_id),
            (_, Some(id)) => id.clone(),
            (_, None) => return Err(missing("group", &change.external_id)),
        };
        if change.op == Op::Create {
            new_groups.push([
                Val::T(id.clone()),
                Val::T(p.to_string()),
                Val::T(source.to_string()),
                Val::T(desired.external_id.to_string()),
                Val::T(desired.name.clone()),
                Val::B(true),
                Val::T(stamp.to_string()),
                Val::T(stamp.to_string()),
                Val::O(Some(hashes.group(desired)?)),
            ])?;
        } else {
            changed_groups.push([
                Val::T(id.clone()),
                Val::T(desired.external_id.to_string()),
                Val::T(desired.name.clone()),
                Val::B(true),
                Val::T(stamp.to_string()),
                Val::O(Some(hashes.group(desired)?)),
            ])?;
            rewritten_groups.push(id.clone());
        }
        push_attributes(fields, &mut group_attributes, &id, &desired.attributes)?;
        group_ids.insert(desired.external_id.as_str(), id);
    }
    delete_children(conn, &["group_attributes"], "group_id", &rewritten_groups).await?;
    insert_batch(conn, &new_groups).await?;
    update_batch(conn, &changed_groups).await?;
    insert_batch(conn, &group_attributes).await?;

    let mut new_users = Batch::new("users", USER_INSERT_COLUMNS);
    let mut changed_users = Batch::new("users", USER_UPDATE_COLUMNS);
    let mut attributes = Batch::new("user_attributes", USER_ATTRIBUTE_COLUMNS);
    let mut skills = Batch::new("user_skills", &["user_id", "skill", "competence"]);
    let mut memberships = Batch::new("memberships", &["user_id", "group_id"]);
    let mut user_roles = Batch::new("user_roles", &["user_id", "role"]);
    let mut rewritten_users: Vec<String> = Vec::new();
    let mut disabled_users: Vec<String> = Vec::new();
    let mut new_user_ids = sorted_new_ids(plan.users.iter().filter(|c| c.op == Op::Create));
    for change in &plan.users {
        if change.op == Op::Disable {
            let id = change
                .id
                .clone()
                .ok_or_else(|| missing("user", &change.external_id))?;
            disabled_users.push(id);
            continue;
        }
        let desired = change
            .desired
            .as_ref()
            .ok_or_else(|| missing("user", &change.external_id))?;
        let id = match (&change.op, &change.id) {
            (Op::Create, _) => new_user_ids.next().unwrap_or_else(new_id),
            (_, Some(id)) => id.clone(),
            (_, None) => return Err(missing("user", &change.external_id)),
        };
        let [first, last, email] = seal_user_names(
            fields,
            &id,
            [
                desired.first_name.as_deref(),
                desired.last_name.as_deref(),
                desired.email.as_deref(),
            ],
        )?;
        if change.op == Op::Create {
            new_users.push([
                Val::T(id.clone()),
                Val::T(p.to_string()),
                Val::T(source.to_string()),
                Val::T(desired.external_id.to_string()),
                Val::T(desired.username.clone()),
                Val::O(first),
                Val::O(last),
                Val::O(email),
                Val::B(true),
                Val::T(stamp.to_string()),
                Val::T(stamp.to_string()),
                Val::O(Some(hashes.user(desired)?)),
            ])?;
        } else {
            changed_users.push([
                Val::T(id.clone()),
                Val::T(desired.external_id.to_string()),
                Val::T(desired.username.clone()),
                Val::O(first),
                Val::O(last),
                Val::O(email),
                Val::B(true),
                Val::T(stamp.to_string()),
                Val::O(Some(hashes.user(desired)?)),
            ])?;
            rewritten_users.push(id.clone());
        }
        push_attributes(fields, &mut attributes, &id, &desired.attributes)?;
        for (skill, level) in &desired.skills {
            skills.push([
                Val::T(id.clone()),
                Val::T(skill.clone()),
                Val::I(i32::from(*level)),
            ])?;
        }
        for group in &desired.groups {
            let Some(group_id) = group_ids.get(group.as_str()) else {
                return Err(StoreError::corrupt(format!(
                    "user '{}' is a member of group '{group}', which this source does not have",
                    desired.username
                )));
            };
            memberships.push([Val::T(id.clone()), Val::T(group_id.clone())])?;
        }
        for role in &desired.roles {
            user_roles.push([Val::T(id.clone()), Val::T(role.clone())])?;
        }
    }
    delete_children(
        conn,
        &[
            "user_attributes",
            "user_skills",
            "memberships",
            "user_roles",
        ],
        "user_id",
        &rewritten_users,
    )
    .await?;
    insert_batch(conn, &new_users).await?;
    update_batch(conn, &changed_users).await?;
    insert_batch(conn, &attributes).await?;
    insert_batch(conn, &skills).await?;
    insert_batch(conn, &memberships).await?;
    insert_batch(conn, &user_roles).await?;
    disable(conn, "users", p, &disabled_users, stamp).await?;
    disable(conn, "groups", p, &disabled_groups, stamp).await?;
    Ok(())
}

/// One fresh id per item, sorted, handed out in plan order: the objects created by one sync
/// (and so all their child rows, which are written in the same order) then arrive in key
/// order, and every index keyed by the owner id (primary keys, `user_attributes_user`, …) is
/// filled by appending instead of inserting at random places. The ids stay random UUID v4.
fn sorted_new_ids<T>(items: impl Iterator<Item = T>) -> std::vec::IntoIter<String> {
    let mut ids: Vec<String> = items.map(|_| new_id()).collect();
    ids.sort_unstable();
    ids.into_iter()
}

/// Deletes the child rows of the given owners from each table.
async fn delete_children(
    conn: &mut Conn,
    tables: &[&str],
    owner_column: &str,
    owners: &[String],
) -> Result<(), StoreError> {
    if owners.is_empty() {
        return Ok(());
    }
    for chunk in owners.chunks(ID_CHUNK) {
        for table in tables {
            let sql = format!("DELETE FROM {table} WHERE {}", in_ids(owner_column, 1));
            sqlx::query(&sql)
                .bind(ids_param(chunk))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Marks the given objects of the project disabled; nothing else about them changes.
async fn disable(
    conn: &mut Conn,
    table: &str,
    project: &str,
    ids: &[String],
    stamp: &str,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = format!(
            "UPDATE {table} SET enabled = $2, updated_at = $3 WHERE project_id = $4 AND {}",
            in_ids("id", 1)
        );
        sqlx::query(&sql)
            .bind(ids_param(chunk))
            .bind(false)
            .bind(stamp)
            .bind(project)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stores the desired hash of objects the plan found unchanged although their stored hash was
/// missing or different (rows from before the hash existed, or equal up to what the planner
/// ignores, such as an attribute with no values): they were equal to the desired object, so
/// the next sync may skip loading them.
async fn refresh_hashes(
    conn: &mut Conn,
    plan: &Plan,
    stale_users: Vec<(String, String)>,
    stale_groups: Vec<(String, String)>,
) -> Result<(), StoreError> {
    let changed: std::collections::HashSet<&str> = plan
        .users
        .iter()
        .filter_map(|c| c.id.as_deref())
        .chain(plan.groups.iter().filter_map(|c| c.id.as_deref()))
        .collect();
    for (table, stale) in [("users", stale_users), ("groups", stale_groups)] {
        let mut batch = Batch::new(table, &["id", "content_hash"]);
        for (id, hash) in stale {
            if !changed.contains(id.as_str()) {
                batch.push([Val::T(id), Val::O(Some(hash))])?;
            }
        }
        update_batch(conn, &batch).await?;
    }
    Ok(())
}
