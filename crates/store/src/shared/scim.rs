// SCIM reads and writes, written once for both backends: included by `scim.rs` into a module
// that defines `Pool`, `Tx`, `in_ids`, `ids_param` and `begin_write`.

type UserTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    String,
    String,
    Option<String>,
);

const USER_ROWS_SQL: &str = "SELECT u.id, u.source, u.external_id, u.username, u.first_name, \
     u.last_name, u.email, u.enabled, u.created_at, u.updated_at, r.doc \
     FROM users u LEFT JOIN scim_resources r ON r.id = u.id \
     WHERE u.project_id = $1 AND ($2 IS NULL OR u.id = $2) ORDER BY u.username, u.id \
     LIMIT $3 OFFSET $4";

pub(super) async fn user_rows(
    pool: &Pool,
    fields: &Fields,
    project: &str,
    id: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<ScimUserRow>, StoreError> {
    let rows: Vec<UserTuple> = sqlx::query_as(USER_ROWS_SQL)
        .bind(project)
        .bind(id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            let [first_name, last_name, email] = open_user_names(fields, &r.0, [r.4, r.5, r.6])?;
            let doc = fields.open_opt("scim_resources", "doc", &r.0, r.10)?;
            Ok(ScimUserRow {
                id: r.0,
                source: r.1,
                external_id: r.2,
                username: r.3,
                first_name,
                last_name,
                email,
                enabled: r.7,
                created_at: r.8,
                updated_at: r.9,
                doc,
            })
        })
        .collect()
}

pub(super) async fn user_count(pool: &Pool, project: &str) -> Result<u64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE project_id = $1")
        .bind(project)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn user_children(
    pool: &Pool,
    fields: &Fields,
    project: &str,
    ids: Option<&[String]>,
) -> Result<HashMap<String, ScimUserChildren>, StoreError> {
    let all = ids.is_none();
    let ids = ids_param(ids);
    let mut out: HashMap<String, ScimUserChildren> = HashMap::new();
    let mut tx = pool.begin().await?;
    let attributes: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT a.user_id, a.name, a.value FROM user_attributes a JOIN users u ON u.id = a.user_id \
         WHERE u.project_id = $1 AND {} ORDER BY a.user_id, a.position",
        in_ids("a.user_id", 2, all)
    ))
    .bind(project)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for (user, name, value) in attributes {
        let value = open_attribute(fields, "user_attributes", &user, &name, value)?;
        out.entry(user).or_default().attributes.push((name, value));
    }
    let skills: Vec<(String, String, i32)> = sqlx::query_as(&format!(
        "SELECT s.user_id, s.skill, s.competence FROM user_skills s JOIN users u ON u.id = s.user_id \
         WHERE u.project_id = $1 AND {} ORDER BY s.user_id, s.skill",
        in_ids("s.user_id", 2, all)
    ))
    .bind(project)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for (user, skill, competence) in skills {
        out.entry(user)
            .or_default()
            .skills
            .push((skill, competence));
    }
    let groups: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT m.user_id, g.id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id \
         WHERE g.project_id = $1 AND {ids1} \
         UNION ALL \
         SELECT s.user_id, g.id, g.name FROM scim_members s JOIN groups g ON g.id = s.group_id \
         WHERE g.project_id = $1 AND {ids2} ORDER BY 1, 3, 2",
        ids1 = in_ids("m.user_id", 2, all),
        ids2 = in_ids("s.user_id", 2, all)
    ))
    .bind(project)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for (user, group, name) in groups {
        out.entry(user).or_default().groups.push((group, name));
    }
    tx.commit().await?;
    Ok(out)
}

type GroupTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

const GROUP_ROWS_SQL: &str = "SELECT g.id, g.source, g.external_id, g.name, g.created_at, \
     g.updated_at, r.doc FROM groups g LEFT JOIN scim_resources r ON r.id = g.id \
     WHERE g.project_id = $1 AND ($2 IS NULL OR g.id = $2) ORDER BY g.name, g.id";

pub(super) async fn group_rows(
    pool: &Pool,
    fields: &Fields,
    project: &str,
    id: Option<&str>,
) -> Result<Vec<ScimGroupRow>, StoreError> {
    let rows: Vec<GroupTuple> = sqlx::query_as(GROUP_ROWS_SQL)
        .bind(project)
        .bind(id)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            let doc = fields.open_opt("scim_resources", "doc", &r.0, r.6)?;
            Ok(ScimGroupRow {
                id: r.0,
                source: r.1,
                external_id: r.2,
                name: r.3,
                created_at: r.4,
                updated_at: r.5,
                doc,
            })
        })
        .collect()
}

// CROSS JOIN keeps SQLite from scanning the project's users first (it joins in the written
// order); PostgreSQL plans it like an inner join.
pub(super) async fn group_members(
    pool: &Pool,
    project: &str,
    ids: Option<&[String]>,
) -> Result<HashMap<String, Vec<ScimMemberRef>>, StoreError> {
    let all = ids.is_none();
    let ids = ids_param(ids);
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(&format!(
        "SELECT m.group_id, u.id, u.username, 0 FROM memberships m CROSS JOIN users u \
         WHERE u.id = m.user_id AND u.project_id = $1 AND {ids1} \
         UNION ALL \
         SELECT s.group_id, u.id, u.username, s.position FROM scim_members s \
         CROSS JOIN users u WHERE u.id = s.user_id AND u.project_id = $1 AND {ids2} \
         ORDER BY 1, 4, 3, 2",
        ids1 = in_ids("m.group_id", 2, all),
        ids2 = in_ids("s.group_id", 2, all)
    ))
    .bind(project)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<String, Vec<ScimMemberRef>> = HashMap::new();
    for (group, id, username, _) in rows {
        out.entry(group)
            .or_default()
            .push(ScimMemberRef { id, username });
    }
    Ok(out)
}

/// The source of an object of the project, if it exists.
async fn source_of(
    tx: &mut Tx,
    table: &str,
    project: &str,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT source FROM {table} WHERE project_id = $1 AND id = $2"
    ))
    .bind(project)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.0))
}

/// `Ok(())` when `id` is a SCIM object of the project, else the refusal.
async fn check_owned(
    tx: &mut Tx,
    table: &str,
    project: &str,
    id: &str,
) -> Result<Result<(), ScimRefusal>, StoreError> {
    match source_of(tx, table, project, id).await? {
        None => Ok(Err(ScimRefusal::NotFound)),
        Some(source) if source != SCIM_SOURCE => Ok(Err(ScimRefusal::ReadOnly { source })),
        Some(_) => Ok(Ok(())),
    }
}

async fn put_doc(
    tx: &mut Tx,
    fields: &Fields,
    project: &str,
    kind: &str,
    id: &str,
    doc: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO scim_resources (id, project_id, kind, doc, version) VALUES ($1, $2, $3, $4, 1) \
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, version = scim_resources.version + 1",
    )
    .bind(id)
    .bind(project)
    .bind(kind)
    .bind(fields.seal("scim_resources", "doc", id, doc)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn write_user(
    pool: &Pool,
    fields: &Fields,
    project: &str,
    target: Option<&str>,
    user: &ScimUserWrite,
    stamp: &str,
    new: &str,
) -> Result<ScimWriteResult, StoreError> {
    let mut tx = begin_write(pool, project).await?;
    if let Some(id) = target {
        if let Err(refusal) = check_owned(&mut tx, "users", project, id).await? {
            return Ok(Err(refusal));
        }
    }
    let id = target.unwrap_or(new);
    let taken: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM users WHERE project_id = $1 AND lower(username) = lower($2) AND id <> $3 \
         LIMIT 1",
    )
    .bind(project)
    .bind(&user.username)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_some() {
        return Ok(Err(ScimRefusal::UserNameTaken {
            username: user.username.clone(),
        }));
    }
    let [first, last, email] = seal_user_names(
        fields,
        id,
        [
            user.first_name.as_deref(),
            user.last_name.as_deref(),
            user.email.as_deref(),
        ],
    )?;
    if target.is_some() {
        sqlx::query(
            "UPDATE users SET username = $3, first_name = $4, last_name = $5, email = $6, \
             enabled = $7, updated_at = $8 WHERE project_id = $1 AND id = $2",
        )
        .bind(project)
        .bind(id)
        .bind(&user.username)
        .bind(&first)
        .bind(&last)
        .bind(&email)
        .bind(user.enabled)
        .bind(stamp)
        .execute(&mut *tx)
        .await?;
        for table in ["user_attributes", "user_skills"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    } else {
        sqlx::query(
            "INSERT INTO users (id, project_id, source, external_id, username, first_name, \
             last_name, email, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $1, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(id)
        .bind(project)
        .bind(SCIM_SOURCE)
        .bind(&user.username)
        .bind(&first)
        .bind(&last)
        .bind(&email)
        .bind(user.enabled)
        .bind(stamp)
        .execute(&mut *tx)
        .await?;
    }
    for (position, (name, value)) in user.attributes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO user_attributes (user_id, name, value, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(seal_attribute(fields, "user_attributes", id, name, value)?)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    }
    for (skill, competence) in &user.skills {
        sqlx::query("INSERT INTO user_skills (user_id, skill, competence) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(skill)
            .bind(*competence)
            .execute(&mut *tx)
            .await?;
    }
    put_doc(&mut tx, fields, project, "User", id, &user.doc).await?;
    tx.commit().await?;
    Ok(Ok(id.to_string()))
}

pub(super) async fn delete_user(
    pool: &Pool,
    project: &str,
    id: &str,
) -> Result<Result<(), ScimRefusal>, StoreError> {
    let mut tx = begin_write(pool, project).await?;
    if let Err(refusal) = check_owned(&mut tx, "users", project, id).await? {
        return Ok(Err(refusal));
    }
    for table in [
        "user_attributes",
        "user_skills",
        "memberships",
        "user_roles",
        "scim_members",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM scim_resources WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM users WHERE project_id = $1 AND id = $2")
        .bind(project)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub(super) async fn write_group(
    pool: &Pool,
    fields: &Fields,
    project: &str,
    target: Option<&str>,
    group: &ScimGroupWrite,
    stamp: &str,
    new: &str,
) -> Result<ScimWriteResult, StoreError> {
    let mut tx = begin_write(pool, project).await?;
    if let Some(id) = target {
        if let Err(refusal) = check_owned(&mut tx, "groups", project, id).await? {
            return Ok(Err(refusal));
        }
    }
    let mut unknown = Vec::new();
    for member in &group.members {
        if source_of(&mut tx, "users", project, member)
            .await?
            .is_none()
        {
            unknown.push(member.clone());
        }
    }
    if !unknown.is_empty() {
        return Ok(Err(ScimRefusal::UnknownMembers(unknown)));
    }
    let id = target.unwrap_or(new);
    if target.is_some() {
        sqlx::query(
            "UPDATE groups SET name = $3, updated_at = $4 WHERE project_id = $1 AND id = $2",
        )
        .bind(project)
        .bind(id)
        .bind(&group.name)
        .bind(stamp)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM scim_members WHERE group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO groups (id, project_id, source, external_id, name, enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $1, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(project)
        .bind(SCIM_SOURCE)
        .bind(&group.name)
        .bind(true)
        .bind(stamp)
        .execute(&mut *tx)
        .await?;
    }
    for (position, member) in group.members.iter().enumerate() {
        sqlx::query("INSERT INTO scim_members (group_id, user_id, position) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(member)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
    }
    put_doc(&mut tx, fields, project, "Group", id, &group.doc).await?;
    tx.commit().await?;
    Ok(Ok(id.to_string()))
}

pub(super) async fn delete_group(
    pool: &Pool,
    project: &str,
    id: &str,
) -> Result<Result<(), ScimRefusal>, StoreError> {
    let mut tx = begin_write(pool, project).await?;
    if let Err(refusal) = check_owned(&mut tx, "groups", project, id).await? {
        return Ok(Err(refusal));
    }
    for sql in [
        "DELETE FROM scim_members WHERE group_id = $1",
        "DELETE FROM memberships WHERE group_id = $1",
        "DELETE FROM group_attributes WHERE group_id = $1",
        "DELETE FROM scim_resources WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM groups WHERE project_id = $1 AND id = $2")
        .bind(project)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
