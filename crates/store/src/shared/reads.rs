// Read queries shared by both backends. This file is `include!`d into `sqlite.rs` and
// `postgres.rs`, which define `Pool`, `Conn`, `READ_TX`, `in_ids` and `ids_param`; all SQL here
// uses `$n` placeholders, which both backends accept.

/// Checks that the database answers.
pub(crate) async fn ping(pool: &Pool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Creates the project if missing and adds missing roles.
pub(crate) async fn ensure_project(
    pool: &Pool,
    project: &ProjectId,
    name: Option<&str>,
    roles: &[String],
    now: &str,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(project.as_str())
    .bind(name.unwrap_or(project.as_str()))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for role in roles {
        sqlx::query(
            "INSERT INTO roles (project_id, name) VALUES ($1, $2) ON CONFLICT (project_id, name) DO NOTHING",
        )
        .bind(project.as_str())
        .bind(role)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// True when the project exists.
pub(crate) async fn project_exists(
    conn: &mut Conn,
    project: &ProjectId,
) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM projects WHERE id = $1")
        .bind(project.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// The project's role names.
pub(crate) async fn roles(
    conn: &mut Conn,
    project: &ProjectId,
) -> Result<BTreeSet<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT name FROM roles WHERE project_id = $1")
        .bind(project.as_str())
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

/// How much of the stored state [`load_current`] had to read in full.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadStats {
    /// Stored users of the source.
    pub users: usize,
    /// Of those, users whose child rows were loaded (hash differs, NULL, or not desired).
    pub users_loaded: usize,
    /// Stored groups of the source.
    pub groups: usize,
    /// Of those, groups whose attributes were loaded.
    pub groups_loaded: usize,
}

/// The stored state of a source as the planner needs it, plus what the write needs to know.
pub(crate) struct Loaded {
    pub current: CurrentState,
    pub stats: LoadStats,
    /// Stored users loaded in full that have a desired counterpart with another (or no stored)
    /// hash: (id, desired hash). When the plan leaves such a user unchanged its stored hash is
    /// brought up to date, so that the next sync can skip it.
    pub stale_users: Vec<(String, String)>,
    /// The same for groups.
    pub stale_groups: Vec<(String, String)>,
}

/// A stored user row with its content hash.
type HashedUserRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
);

/// Whose child rows to load: every object of the source, or just these ids.
#[derive(Clone, Copy)]
enum Owners<'a> {
    All,
    Ids(&'a [String]),
}

impl Owners<'_> {
    /// `All` when most objects are wanted anyway (one scan beats long id lists).
    fn pick(ids: &[String], total: usize) -> Owners<'_> {
        if ids.len() * 2 > total {
            Owners::All
        } else {
            Owners::Ids(ids)
        }
    }
}

/// Runs a child-row query either once for the whole source (`all_sql`, binding project and
/// source) or once per chunk of ids (`ids_sql`, binding the id list at `$1`).
async fn fetch_children<T>(
    conn: &mut Conn,
    owners: Owners<'_>,
    project: &str,
    source: &str,
    all_sql: &str,
    ids_sql: &str,
) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    match owners {
        Owners::All => Ok(sqlx::query_as(all_sql)
            .bind(project)
            .bind(source)
            .fetch_all(&mut *conn)
            .await?),
        Owners::Ids([]) => Ok(Vec::new()),
        Owners::Ids(ids) => {
            let mut out = Vec::new();
            for chunk in ids.chunks(ID_CHUNK) {
                let mut rows: Vec<T> = sqlx::query_as(ids_sql)
                    .bind(ids_param(chunk))
                    .fetch_all(&mut *conn)
                    .await?;
                out.append(&mut rows);
            }
            Ok(out)
        }
    }
}

/// Attribute rows (owner, name, value) in position order. Sorted here rather than by the
/// database: the order only matters within one owner's attribute, and a stable in-memory sort
/// by position is cheaper than a global `ORDER BY` over the whole source.
/// Opens the values of attribute rows (owner, name, value) of `table`.
fn open_attributes(
    fields: &Fields,
    table: &str,
    rows: Vec<(String, String, String)>,
) -> Result<Vec<(String, String, String)>, StoreError> {
    rows.into_iter()
        .map(|(owner, name, value)| {
            let value = open_attribute(fields, table, &owner, &name, value)?;
            Ok((owner, name, value))
        })
        .collect()
}

fn by_position(mut rows: Vec<(String, String, String, i32)>) -> Vec<(String, String, String)> {
    rows.sort_by_key(|r| r.3);
    rows.into_iter().map(|(o, n, v, _)| (o, n, v)).collect()
}

/// The child rows of the given users, assembled onto their rows.
async fn load_users_in_full(
    conn: &mut Conn,
    fields: &Fields,
    project: &str,
    source: &str,
    rows: Vec<UserRow>,
    owners: Owners<'_>,
) -> Result<Vec<CurrentUser>, StoreError> {
    let attributes: Vec<(String, String, String, i32)> = fetch_children(
        conn,
        owners,
        project,
        source,
        "SELECT a.user_id, a.name, a.value, a.position FROM user_attributes a \
         JOIN users u ON u.id = a.user_id WHERE u.project_id = $1 AND u.source = $2",
        &format!(
            "SELECT a.user_id, a.name, a.value, a.position FROM user_attributes a WHERE {}",
            in_ids("a.user_id", 1)
        ),
    )
    .await?;
    let skills: Vec<(String, String, i32)> = fetch_children(
        conn,
        owners,
        project,
        source,
        "SELECT s.user_id, s.skill, s.competence FROM user_skills s \
         JOIN users u ON u.id = s.user_id WHERE u.project_id = $1 AND u.source = $2",
        &format!(
            "SELECT s.user_id, s.skill, s.competence FROM user_skills s WHERE {}",
            in_ids("s.user_id", 1)
        ),
    )
    .await?;
    let memberships: Vec<(String, String)> = fetch_children(
        conn,
        owners,
        project,
        source,
        "SELECT m.user_id, g.external_id FROM memberships m \
         JOIN users u ON u.id = m.user_id JOIN groups g ON g.id = m.group_id \
         WHERE u.project_id = $1 AND u.source = $2",
        &format!(
            "SELECT m.user_id, g.external_id FROM memberships m \
             JOIN groups g ON g.id = m.group_id WHERE {}",
            in_ids("m.user_id", 1)
        ),
    )
    .await?;
    let user_roles: Vec<(String, String)> = fetch_children(
        conn,
        owners,
        project,
        source,
        "SELECT r.user_id, r.role FROM user_roles r \
         JOIN users u ON u.id = r.user_id WHERE u.project_id = $1 AND u.source = $2",
        &format!(
            "SELECT r.user_id, r.role FROM user_roles r WHERE {}",
            in_ids("r.user_id", 1)
        ),
    )
    .await?;
    let attributes = open_attributes(fields, "user_attributes", by_position(attributes))?;
    assemble_users(
        rows,
        attributes,
        skills,
        memberships,
        user_roles,
    )
}

/// The attributes of the given groups, assembled onto their rows.
async fn load_groups_in_full(
    conn: &mut Conn,
    fields: &Fields,
    project: &str,
    source: &str,
    rows: Vec<(String, String, String, bool)>,
    owners: Owners<'_>,
) -> Result<Vec<CurrentGroup>, StoreError> {
    let attributes: Vec<(String, String, String, i32)> = fetch_children(
        conn,
        owners,
        project,
        source,
        "SELECT a.group_id, a.name, a.value, a.position FROM group_attributes a \
         JOIN groups g ON g.id = a.group_id WHERE g.project_id = $1 AND g.source = $2",
        &format!(
            "SELECT a.group_id, a.name, a.value, a.position FROM group_attributes a WHERE {}",
            in_ids("a.group_id", 1)
        ),
    )
    .await?;
    let attributes = open_attributes(fields, "group_attributes", by_position(attributes))?;
    assemble_groups(rows, attributes)
}

/// Everything stored for one source of one project, every child row read (the reference the
/// hash fast path of [`load_current`] must agree with).
#[cfg(test)]
pub(crate) async fn load_current_full(
    conn: &mut Conn,
    fields: &Fields,
    project: &ProjectId,
    source: &str,
) -> Result<CurrentState, StoreError> {
    let p = project.as_str();
    let users: Vec<UserRow> = sqlx::query_as(
        "SELECT id, external_id, username, first_name, last_name, email, enabled \
         FROM users WHERE project_id = $1 AND source = $2",
    )
    .bind(p)
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    let users = users
        .into_iter()
        .map(|row| open_user_row(fields, row))
        .collect::<Result<Vec<_>, _>>()?;
    let groups: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT id, external_id, name, enabled FROM groups WHERE project_id = $1 AND source = $2",
    )
    .bind(p)
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    Ok(CurrentState {
        users: load_users_in_full(conn, fields, p, source, users, Owners::All).await?,
        groups: load_groups_in_full(conn, fields, p, source, groups, Owners::All).await?,
    })
}

/// The stored state of one source as the planner needs it for `desired`.
///
/// Reads the `users` and `groups` rows of the source with their content hashes. A stored object
/// whose hash equals the hash of the desired object with the same external id holds exactly
/// that object (the hash covers everything but `enabled`), so the desired object is used as
/// its stored state and its child rows are not read. Child rows are read only for the others:
/// changed objects, objects with no hash yet, and objects the snapshot no longer has (which
/// also covers the planner's re-link by username: only stored users without a hash-equal
/// desired counterpart can be claimed that way, and those are all read in full).
pub(crate) async fn load_current(
    conn: &mut Conn,
    fields: &Fields,
    project: &ProjectId,
    source: &str,
    desired: &wfm_model::DirectorySnapshot,
    hashes: &DesiredHashes,
) -> Result<Loaded, StoreError> {
    let p = project.as_str();
    let mut stats = LoadStats::default();

    let rows: Vec<HashedUserRow> = sqlx::query_as(
        "SELECT id, external_id, username, first_name, last_name, email, enabled, content_hash \
         FROM users WHERE project_id = $1 AND source = $2",
    )
    .bind(p)
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    stats.users = rows.len();
    let mut users = Vec::with_capacity(rows.len());
    let mut full: Vec<UserRow> = Vec::new();
    let mut stale_users = Vec::new();
    for (id, external_id, username, first, last, email, enabled, stored) in rows {
        if let Some((i, hash)) = hashes.users.get(&external_id) {
            if stored.as_deref() == Some(hash.as_str()) {
                users.push(CurrentUser {
                    id,
                    enabled,
                    user: desired.users[*i].clone(),
                });
                continue;
            }
            stale_users.push((id.clone(), hash.clone()));
        }
        full.push(open_user_row(
            fields,
            (id, external_id, username, first, last, email, enabled),
        )?);
    }
    stats.users_loaded = full.len();
    if !full.is_empty() {
        let ids: Vec<String> = full.iter().map(|r| r.0.clone()).collect();
        let owners = Owners::pick(&ids, stats.users);
        users.extend(load_users_in_full(conn, fields, p, source, full, owners).await?);
    }

    let rows: Vec<(String, String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT id, external_id, name, enabled, content_hash FROM groups \
         WHERE project_id = $1 AND source = $2",
    )
    .bind(p)
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    stats.groups = rows.len();
    let mut groups = Vec::with_capacity(rows.len());
    let mut full = Vec::new();
    let mut stale_groups = Vec::new();
    for (id, external_id, name, enabled, stored) in rows {
        if let Some((i, hash)) = hashes.groups.get(&external_id) {
            if stored.as_deref() == Some(hash.as_str()) {
                groups.push(CurrentGroup {
                    id,
                    enabled,
                    group: desired.groups[*i].clone(),
                });
                continue;
            }
            stale_groups.push((id.clone(), hash.clone()));
        }
        full.push((id, external_id, name, enabled));
    }
    stats.groups_loaded = full.len();
    if !full.is_empty() {
        let ids: Vec<String> = full.iter().map(|r| r.0.clone()).collect();
        let owners = Owners::pick(&ids, stats.groups);
        groups.extend(load_groups_in_full(conn, fields, p, source, full, owners).await?);
    }
    Ok(Loaded {
        current: CurrentState { users, groups },
        stats,
        stale_users,
        stale_groups,
    })
}

const USER_FILTER: &str = "FROM users u WHERE u.project_id = $1 \
    AND ($2 IS NULL OR u.source = $2) \
    AND ($3 IS NULL OR u.username = $3) \
    AND ($4 IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_id = $4)) \
    AND ($5 IS NULL OR u.enabled = $5) \
    AND ($6 IS NULL OR lower(u.username) LIKE $6 ESCAPE '\\' \
         OR lower(COALESCE(u.first_name, '')) LIKE $6 ESCAPE '\\' \
         OR lower(COALESCE(u.last_name, '')) LIKE $6 ESCAPE '\\' \
         OR lower(COALESCE(u.email, '')) LIKE $6 ESCAPE '\\') \
    AND ($7 IS NULL OR u.id = $7)";

/// Users matching a query (plus an optional id), one page, with their children.
async fn user_page(
    conn: &mut Conn,
    fields: &Fields,
    project: &ProjectId,
    q: &UserQuery,
    id: Option<&str>,
    (offset, limit): (u64, u64),
    with_total: bool,
) -> Result<(Vec<UserView>, u64), StoreError> {
    if let (true, Some(needle)) = (fields.encrypts(), q.q.as_deref()) {
        // Sealed names and e-mails cannot be searched by SQL: filter the project's rows that
        // match everything else in memory, after opening them.
        let sql = format!(
            "SELECT u.id, u.source, u.external_id, u.username, u.first_name, u.last_name, \
             u.email, u.enabled, u.created_at, u.updated_at {USER_FILTER} ORDER BY u.username, u.id"
        );
        let rows: Vec<UserViewRow> = sqlx::query_as(&sql)
            .bind(project.as_str())
            .bind(q.source.as_deref())
            .bind(q.username.as_deref())
            .bind(q.group.as_deref())
            .bind(q.enabled)
            .bind(None::<String>)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        let needle = needle.to_lowercase();
        let mut matched = Vec::new();
        for row in rows {
            let row = open_view_row(fields, row)?;
            if view_row_contains(&row, &needle) {
                matched.push(row);
            }
        }
        let total = u64::try_from(matched.len()).unwrap_or(u64::MAX);
        let page = matched
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        let views = user_views(conn, fields, page).await?;
        return Ok((views, if with_total { total } else { 0 }));
    }
    let pattern = q.q.as_deref().map(contains_pattern);
    let total = if with_total {
        let sql = format!("SELECT COUNT(*) {USER_FILTER}");
        let (n,): (i64,) = sqlx::query_as(&sql)
            .bind(project.as_str())
            .bind(q.source.as_deref())
            .bind(q.username.as_deref())
            .bind(q.group.as_deref())
            .bind(q.enabled)
            .bind(pattern.as_deref())
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        to_u64(n)
    } else {
        0
    };
    let sql = format!(
        "SELECT u.id, u.source, u.external_id, u.username, u.first_name, u.last_name, u.email, \
         u.enabled, u.created_at, u.updated_at {USER_FILTER} ORDER BY u.username, u.id \
         LIMIT $8 OFFSET $9"
    );
    let rows: Vec<UserViewRow> = sqlx::query_as(&sql)
        .bind(project.as_str())
        .bind(q.source.as_deref())
        .bind(q.username.as_deref())
        .bind(q.group.as_deref())
        .bind(q.enabled)
        .bind(pattern.as_deref())
        .bind(id)
        .bind(to_i64(limit))
        .bind(to_i64(offset))
        .fetch_all(&mut *conn)
        .await?;
    let rows = rows
        .into_iter()
        .map(|row| open_view_row(fields, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((user_views(conn, fields, rows).await?, total))
}

/// The API views of a page of (opened) user rows, with their children, in the page's order.
async fn user_views(
    conn: &mut Conn,
    fields: &Fields,
    rows: Vec<UserViewRow>,
) -> Result<Vec<UserView>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let attributes: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT a.user_id, a.name, a.value FROM user_attributes a WHERE {} ORDER BY a.position",
        in_ids("a.user_id", 1)
    ))
    .bind(ids_param(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let attributes = open_attributes(fields, "user_attributes", attributes)?;
    let skills: Vec<(String, String, i32)> = sqlx::query_as(&format!(
        "SELECT s.user_id, s.skill, s.competence FROM user_skills s WHERE {}",
        in_ids("s.user_id", 1)
    ))
    .bind(ids_param(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let groups: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT m.user_id, g.id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id \
         WHERE {}",
        in_ids("m.user_id", 1)
    ))
    .bind(ids_param(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let user_roles: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT r.user_id, r.role FROM user_roles r WHERE {}",
        in_ids("r.user_id", 1)
    ))
    .bind(ids_param(&ids))
    .fetch_all(&mut *conn)
    .await?;
    assemble_views(rows, attributes, skills, groups, user_roles)
}

/// One page of users.
pub(crate) async fn list_users(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    q: &UserQuery,
) -> Result<Page<UserView>, StoreError> {
    let offset = q.offset.unwrap_or(0);
    let limit = page_limit(q.limit);
    let mut tx = pool.begin_with(READ_TX).await?;
    let (items, total) = user_page(&mut tx, fields, project, q, None, (offset, limit), true).await?;
    tx.commit().await?;
    Ok(Page {
        items,
        total,
        offset,
        limit,
    })
}

/// One user by hub id.
pub(crate) async fn get_user(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    id: &str,
) -> Result<Option<UserView>, StoreError> {
    let mut tx = pool.begin_with(READ_TX).await?;
    let q = UserQuery::default();
    let (items, _) = user_page(&mut tx, fields, project, &q, Some(id), (0, 1), false).await?;
    tx.commit().await?;
    Ok(items.into_iter().next())
}

const GROUP_FILTER: &str = "FROM groups g WHERE g.project_id = $1 \
    AND ($2 IS NULL OR g.source = $2) \
    AND ($3 IS NULL OR g.name = $3) \
    AND ($4 IS NULL OR g.id = $4)";

/// Groups matching a query (plus an optional id), one page, with attributes and member counts.
async fn group_page(
    conn: &mut Conn,
    fields: &Fields,
    project: &ProjectId,
    q: &GroupQuery,
    id: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(Vec<GroupView>, u64), StoreError> {
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) {GROUP_FILTER}"))
        .bind(project.as_str())
        .bind(q.source.as_deref())
        .bind(q.name.as_deref())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let sql = format!(
        "SELECT g.id, g.source, g.external_id, g.name, g.enabled, \
         (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
          WHERE m.group_id = g.id AND u.enabled = $5) \
         {GROUP_FILTER} ORDER BY g.name, g.id LIMIT $6 OFFSET $7"
    );
    let rows: Vec<(String, String, String, String, bool, i64)> = sqlx::query_as(&sql)
        .bind(project.as_str())
        .bind(q.source.as_deref())
        .bind(q.name.as_deref())
        .bind(id)
        .bind(true)
        .bind(to_i64(limit))
        .bind(to_i64(offset))
        .fetch_all(&mut *conn)
        .await?;
    let mut views: Vec<GroupView> = rows
        .into_iter()
        .map(
            |(id, source, external_id, name, enabled, members)| GroupView {
                id,
                source,
                external_id,
                name,
                enabled,
                attributes: Default::default(),
                member_count: to_u64(members),
            },
        )
        .collect();
    if views.is_empty() {
        return Ok((views, to_u64(total)));
    }
    let ids: Vec<String> = views.iter().map(|g| g.id.clone()).collect();
    let attributes: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT a.group_id, a.name, a.value FROM group_attributes a WHERE {} ORDER BY a.position",
        in_ids("a.group_id", 1)
    ))
    .bind(ids_param(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let attributes = open_attributes(fields, "group_attributes", attributes)?;
    let index: HashMap<String, usize> =
        ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect();
    for (group_id, name, value) in attributes {
        if let Some(&i) = index.get(&group_id) {
            views[i].attributes.entry(name).or_default().push(value);
        }
    }
    Ok((views, to_u64(total)))
}

/// One page of groups.
pub(crate) async fn list_groups(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    q: &GroupQuery,
) -> Result<Page<GroupView>, StoreError> {
    let offset = q.offset.unwrap_or(0);
    let limit = page_limit(q.limit);
    let mut tx = pool.begin_with(READ_TX).await?;
    let (items, total) = group_page(&mut tx, fields, project, q, None, offset, limit).await?;
    tx.commit().await?;
    Ok(Page {
        items,
        total,
        offset,
        limit,
    })
}

/// One group with the ids of all its members.
pub(crate) async fn get_group(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    id: &str,
) -> Result<Option<GroupDetail>, StoreError> {
    let mut tx = pool.begin_with(READ_TX).await?;
    let q = GroupQuery::default();
    let (items, _) = group_page(&mut tx, fields, project, &q, Some(id), 0, 1).await?;
    let Some(group) = items.into_iter().next() else {
        tx.commit().await?;
        return Ok(None);
    };
    let members: Vec<(String,)> = sqlx::query_as(
        "SELECT u.id FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND u.project_id = $2 ORDER BY u.username, u.id",
    )
    .bind(id)
    .bind(project.as_str())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(GroupDetail {
        group,
        member_ids: members.into_iter().map(|(id,)| id).collect(),
    }))
}

/// A stored run: id, source, started, finished, result, summary, reason, warnings, change count.
type RunRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
);

const RUN_COLUMNS: &str =
    "id, source, started_at, finished_at, result, summary, reason, warnings, change_count";

fn run_from_row(row: RunRow) -> Result<SyncRun, StoreError> {
    let (id, source, started_at, finished_at, result, summary, reason, warnings, count) = row;
    let result: RunResult = serde_json::from_value(serde_json::Value::String(result))?;
    Ok(SyncRun {
        id,
        source,
        started_at,
        finished_at,
        result,
        summary: serde_json::from_str(&summary)?,
        reason,
        warnings: serde_json::from_str(&warnings)?,
        change_count: to_u64(count),
    })
}

/// Run history, newest first.
pub(crate) async fn list_runs(
    pool: &Pool,
    project: &ProjectId,
    offset: u64,
    limit: u64,
) -> Result<Page<SyncRun>, StoreError> {
    let limit = page_limit(Some(limit));
    let mut tx = pool.begin_with(READ_TX).await?;
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_runs WHERE project_id = $1")
        .bind(project.as_str())
        .fetch_one(&mut *tx)
        .await?;
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE project_id = $1 \
         ORDER BY started_at DESC, seq DESC LIMIT $2 OFFSET $3"
    ))
    .bind(project.as_str())
    .bind(to_i64(limit))
    .bind(to_i64(offset))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(run_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        total: to_u64(total),
        offset,
        limit,
    })
}

async fn find_run(
    conn: &mut Conn,
    project: &ProjectId,
    id: &str,
) -> Result<Option<SyncRun>, StoreError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE project_id = $1 AND id = $2"
    ))
    .bind(project.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(run_from_row).transpose()
}

/// One run.
pub(crate) async fn get_run(
    pool: &Pool,
    project: &ProjectId,
    id: &str,
) -> Result<Option<SyncRun>, StoreError> {
    let mut conn = pool.acquire().await?;
    find_run(&mut conn, project, id).await
}

/// One page of a run's change log, in apply order; `None` when the run does not exist.
pub(crate) async fn run_changes(
    pool: &Pool,
    fields: &Fields,
    project: &ProjectId,
    id: &str,
    offset: u64,
    limit: u64,
) -> Result<Option<Page<ObjectChange>>, StoreError> {
    let limit = page_limit(Some(limit));
    let mut tx = pool.begin_with(READ_TX).await?;
    let Some(run) = find_run(&mut tx, project, id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let rows: Vec<(i32, String)> = sqlx::query_as(
        "SELECT seq, change FROM sync_run_changes WHERE run_id = $1 ORDER BY seq LIMIT $2 OFFSET $3",
    )
    .bind(id)
    .bind(to_i64(limit))
    .bind(to_i64(offset))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(|(seq, stored)| {
            let json = fields.open("sync_run_changes", "change", &change_row(id, seq), stored)?;
            Ok(serde_json::from_str(&json)?)
        })
        .collect::<Result<Vec<ObjectChange>, StoreError>>()?;
    Ok(Some(Page {
        items,
        total: run.change_count,
        offset,
        limit,
    }))
}
