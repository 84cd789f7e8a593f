//! Backend-neutral pieces: column batches for bulk writes, the id and time formats, assembling
//! stored rows into planner and API types, and the bodies a sync answers with.

use crate::encryption::Fields;
use crate::error::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use wfm_model::{Attributes, DirectoryGroup, DirectoryUser, ExternalId};
use wfm_protocol::{ErrorBody, ErrorDetail, GroupRef, UserView};
use wfm_sync::{CurrentGroup, CurrentUser, GroupChange, SyncError, UserChange};

/// Default page size.
pub(crate) const DEFAULT_LIMIT: u64 = 100;
/// Largest page size.
pub(crate) const MAX_LIMIT: u64 = 1000;

/// The effective page size: 0 or absent means the default, larger than the maximum is capped.
pub(crate) fn page_limit(limit: Option<u64>) -> u64 {
    match limit {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => n.min(MAX_LIMIT),
    }
}

/// Converts a count or offset for binding (databases count in i64).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Converts a stored count back.
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A new object id: UUID v4 text.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// RFC 3339 UTC with microseconds: fixed width, so text order is time order.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    match t.format(&format) {
        Ok(s) => s,
        // Only years outside 0000–9999 fail; fall back to the general RFC 3339 form.
        Err(_) => t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    }
}

/// A `LIKE` pattern matching `needle` anywhere, lower-cased, with `\` as the escape character.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One value of a batch row.
pub(crate) enum Val {
    /// Text.
    T(String),
    /// Nullable text.
    O(Option<String>),
    /// Integer.
    I(i32),
    /// 64-bit integer (interval figures, epoch milliseconds).
    L(i64),
    /// Nullable 64-bit integer (reason codes).
    OL(Option<i64>),
    /// Boolean.
    B(bool),
}

/// One column of a batch, all values of one type.
pub(crate) enum Col {
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
    Int(Vec<i32>),
    Big(Vec<i64>),
    OptBig(Vec<Option<i64>>),
    Bool(Vec<bool>),
}

/// Rows for one table, stored by column so that PostgreSQL can bind each column as one array.
pub(crate) struct Batch {
    /// Table name.
    pub table: &'static str,
    /// Column names, in order.
    pub names: &'static [&'static str],
    /// Column values, in the same order.
    pub cols: Vec<Col>,
    rows: usize,
}

impl Batch {
    /// An empty batch; the first pushed row fixes the column types.
    pub(crate) fn new(table: &'static str, names: &'static [&'static str]) -> Batch {
        Batch {
            table,
            names,
            cols: Vec::new(),
            rows: 0,
        }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// True when there is nothing to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends a row; its values must match the column names in number and keep one type per
    /// column (a mismatch is a programming error and is reported as corrupt data).
    pub(crate) fn push<const N: usize>(&mut self, row: [Val; N]) -> Result<(), StoreError> {
        if row.len() != self.names.len() {
            return Err(StoreError::corrupt(format!(
                "batch for {} expects {} values, got {}",
                self.table,
                self.names.len(),
                row.len()
            )));
        }
        if self.cols.is_empty() {
            self.cols = row
                .iter()
                .map(|v| match v {
                    Val::T(_) => Col::Text(Vec::new()),
                    Val::O(_) => Col::OptText(Vec::new()),
                    Val::I(_) => Col::Int(Vec::new()),
                    Val::L(_) => Col::Big(Vec::new()),
                    Val::OL(_) => Col::OptBig(Vec::new()),
                    Val::B(_) => Col::Bool(Vec::new()),
                })
                .collect();
        }
        for (col, val) in self.cols.iter_mut().zip(row) {
            match (col, val) {
                (Col::Text(c), Val::T(v)) => c.push(v),
                (Col::OptText(c), Val::O(v)) => c.push(v),
                (Col::Int(c), Val::I(v)) => c.push(v),
                (Col::Big(c), Val::L(v)) => c.push(v),
                (Col::OptBig(c), Val::OL(v)) => c.push(v),
                (Col::Bool(c), Val::B(v)) => c.push(v),
                _ => {
                    return Err(StoreError::corrupt(format!(
                        "batch for {} mixes value types in one column",
                        self.table
                    )))
                }
            }
        }
        self.rows += 1;
        Ok(())
    }
}

/// Pushes one row per attribute value, with its position inside the attribute.
pub(crate) fn push_attributes(
    fields: &Fields,
    batch: &mut Batch,
    owner: &str,
    attributes: &Attributes,
) -> Result<(), StoreError> {
    for (name, values) in attributes {
        for (position, value) in values.iter().enumerate() {
            batch.push([
                Val::T(owner.to_string()),
                Val::T(name.clone()),
                Val::T(seal_attribute(fields, batch.table, owner, name, value)?),
                Val::I(i32::try_from(position).unwrap_or(i32::MAX)),
            ])?;
        }
    }
    Ok(())
}

/// The row id a change-log entry is sealed for: its run and position.
pub(crate) fn change_row(run_id: &str, seq: i32) -> String {
    format!("{run_id}/{seq}")
}

/// The row id an attribute value is sealed for: its owner and the attribute's name.
fn attribute_row(owner: &str, name: &str) -> String {
    format!("{owner}/{name}")
}

/// The stored form of one value of attribute `name` of `owner` in `table`. Every value is
/// sealed except `agentId`: the contact centre's agent id is the identifier agent states,
/// schedules and adherence are joined on in SQL (like the username, it stays in clear).
pub(crate) fn seal_attribute(
    fields: &Fields,
    table: &str,
    owner: &str,
    name: &str,
    value: &str,
) -> Result<String, StoreError> {
    if name == wfm_model::directory::ATTR_AGENT_ID {
        return Ok(value.to_string());
    }
    fields.seal(table, "value", &attribute_row(owner, name), value)
}

/// The plaintext of one stored value of attribute `name` of `owner` in `table`.
pub(crate) fn open_attribute(
    fields: &Fields,
    table: &str,
    owner: &str,
    name: &str,
    stored: String,
) -> Result<String, StoreError> {
    fields.open(table, "value", &attribute_row(owner, name), stored)
}

/// The personal columns of `users` (sealed when encryption at rest is on).
pub(crate) const USER_NAME_COLUMNS: [&str; 3] = ["first_name", "last_name", "email"];

/// The stored form of a user's first name, last name and e-mail.
pub(crate) fn seal_user_names(
    fields: &Fields,
    id: &str,
    values: [Option<&str>; 3],
) -> Result<[Option<String>; 3], StoreError> {
    let [a, b, c] = values;
    Ok([
        fields.seal_opt("users", USER_NAME_COLUMNS[0], id, a)?,
        fields.seal_opt("users", USER_NAME_COLUMNS[1], id, b)?,
        fields.seal_opt("users", USER_NAME_COLUMNS[2], id, c)?,
    ])
}

/// The plaintext of a user's stored first name, last name and e-mail.
pub(crate) fn open_user_names(
    fields: &Fields,
    id: &str,
    values: [Option<String>; 3],
) -> Result<[Option<String>; 3], StoreError> {
    let [a, b, c] = values;
    Ok([
        fields.open_opt("users", USER_NAME_COLUMNS[0], id, a)?,
        fields.open_opt("users", USER_NAME_COLUMNS[1], id, b)?,
        fields.open_opt("users", USER_NAME_COLUMNS[2], id, c)?,
    ])
}

/// [`open_user_names`] of a [`UserRow`].
pub(crate) fn open_user_row(fields: &Fields, row: UserRow) -> Result<UserRow, StoreError> {
    let (id, external_id, username, first, last, email, enabled) = row;
    let [first, last, email] = open_user_names(fields, &id, [first, last, email])?;
    Ok((id, external_id, username, first, last, email, enabled))
}

/// A stored user row: id, external id, username, first, last, email, enabled.
pub(crate) type UserRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

/// The content hash of a user as stored in `users.content_hash`: SHA-256 (lower-case hex) of
/// the canonical serde_json serialisation of the whole [`DirectoryUser`]. Maps and sets are
/// `BTreeMap`/`BTreeSet`, so equal users always serialise (and hash) alike. The enabled flag is
/// not part of it (it is a column of its own).
pub(crate) fn user_hash(user: &DirectoryUser) -> Result<String, StoreError> {
    let mut buf = Vec::with_capacity(512);
    serde_json::to_writer(&mut buf, user)?;
    Ok(sha256_hex(&buf))
}

/// The content hash of a group (`groups.content_hash`), like [`user_hash`].
pub(crate) fn group_hash(group: &DirectoryGroup) -> Result<String, StoreError> {
    let mut buf = Vec::with_capacity(256);
    serde_json::to_writer(&mut buf, group)?;
    Ok(sha256_hex(&buf))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The content hashes of every desired user and group of a snapshot, by external id, with the
/// index of the object in the snapshot. Computed once per sync and used both to compare with
/// the stored hashes and to write the new ones.
#[derive(Debug, Default)]
pub(crate) struct DesiredHashes {
    pub users: HashMap<String, (usize, String)>,
    pub groups: HashMap<String, (usize, String)>,
}

impl DesiredHashes {
    pub(crate) fn of(snapshot: &wfm_model::DirectorySnapshot) -> Result<DesiredHashes, StoreError> {
        let mut out = DesiredHashes {
            users: HashMap::with_capacity(snapshot.users.len()),
            groups: HashMap::with_capacity(snapshot.groups.len()),
        };
        for (i, u) in snapshot.users.iter().enumerate() {
            out.users
                .insert(u.external_id.to_string(), (i, user_hash(u)?));
        }
        for (i, g) in snapshot.groups.iter().enumerate() {
            out.groups
                .insert(g.external_id.to_string(), (i, group_hash(g)?));
        }
        Ok(out)
    }

    /// With encryption at rest on, every hash replaced by its keyed blind index (so the stored
    /// hashes do not let anyone confirm a guessed user record without the project's key).
    pub(crate) fn keyed(mut self, fields: &Fields) -> DesiredHashes {
        if fields.encrypts() {
            for (_, hash) in self.users.values_mut() {
                *hash = fields.keyed("user-content", hash);
            }
            for (_, hash) in self.groups.values_mut() {
                *hash = fields.keyed("group-content", hash);
            }
        }
        self
    }

    /// The hash of a desired user (computed when the snapshot did not have it, which only
    /// happens for duplicate external ids, a snapshot the planner rejects anyway).
    pub(crate) fn user(&self, user: &DirectoryUser) -> Result<String, StoreError> {
        match self.users.get(user.external_id.as_str()) {
            Some((_, h)) => Ok(h.clone()),
            None => user_hash(user),
        }
    }

    /// The hash of a desired group.
    pub(crate) fn group(&self, group: &DirectoryGroup) -> Result<String, StoreError> {
        match self.groups.get(group.external_id.as_str()) {
            Some((_, h)) => Ok(h.clone()),
            None => group_hash(group),
        }
    }
}

/// Builds the planner's view of the stored users from one query per table.
pub(crate) fn assemble_users(
    users: Vec<UserRow>,
    attributes: Vec<(String, String, String)>,
    skills: Vec<(String, String, i32)>,
    memberships: Vec<(String, String)>,
    roles: Vec<(String, String)>,
) -> Result<Vec<CurrentUser>, StoreError> {
    let mut out = Vec::with_capacity(users.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(users.len());
    for (id, external_id, username, first_name, last_name, email, enabled) in users {
        let external_id = ExternalId::new(external_id).map_err(StoreError::corrupt)?;
        index.insert(id.clone(), out.len());
        out.push(CurrentUser {
            id,
            enabled,
            user: DirectoryUser {
                external_id,
                username,
                first_name,
                last_name,
                email,
                attributes: Attributes::new(),
                skills: BTreeMap::new(),
                groups: Default::default(),
                roles: Default::default(),
            },
        });
    }
    for (user_id, name, value) in attributes {
        if let Some(&i) = index.get(&user_id) {
            out[i].user.attributes.entry(name).or_default().push(value);
        }
    }
    for (user_id, skill, competence) in skills {
        if let Some(&i) = index.get(&user_id) {
            let level = u8::try_from(competence).map_err(StoreError::corrupt)?;
            out[i].user.skills.insert(skill, level);
        }
    }
    for (user_id, group) in memberships {
        if let Some(&i) = index.get(&user_id) {
            let group = ExternalId::new(group).map_err(StoreError::corrupt)?;
            out[i].user.groups.insert(group);
        }
    }
    for (user_id, role) in roles {
        if let Some(&i) = index.get(&user_id) {
            out[i].user.roles.insert(role);
        }
    }
    Ok(out)
}

/// Builds the planner's view of the stored groups.
pub(crate) fn assemble_groups(
    groups: Vec<(String, String, String, bool)>,
    attributes: Vec<(String, String, String)>,
) -> Result<Vec<CurrentGroup>, StoreError> {
    let mut out = Vec::with_capacity(groups.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(groups.len());
    for (id, external_id, name, enabled) in groups {
        let external_id = ExternalId::new(external_id).map_err(StoreError::corrupt)?;
        index.insert(id.clone(), out.len());
        out.push(CurrentGroup {
            id,
            enabled,
            group: DirectoryGroup {
                external_id,
                name,
                attributes: Attributes::new(),
            },
        });
    }
    for (group_id, name, value) in attributes {
        if let Some(&i) = index.get(&group_id) {
            out[i].group.attributes.entry(name).or_default().push(value);
        }
    }
    Ok(out)
}

/// A user row as the API lists it: id, source, external id, username, first, last, email,
/// enabled, created, updated.
pub(crate) type UserViewRow = (
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
);

/// [`open_user_names`] of a [`UserViewRow`].
pub(crate) fn open_view_row(fields: &Fields, row: UserViewRow) -> Result<UserViewRow, StoreError> {
    let (id, source, external_id, username, first, last, email, enabled, created, updated) = row;
    let [first, last, email] = open_user_names(fields, &id, [first, last, email])?;
    Ok((
        id,
        source,
        external_id,
        username,
        first,
        last,
        email,
        enabled,
        created,
        updated,
    ))
}

/// The in-memory form of the `q` filter (case-insensitive substring of username, first name,
/// last name or e-mail), for sealed rows that SQL cannot search.
pub(crate) fn view_row_contains(row: &UserViewRow, needle_lower: &str) -> bool {
    let hit = |v: &str| v.to_lowercase().contains(needle_lower);
    hit(&row.3)
        || row.4.as_deref().is_some_and(hit)
        || row.5.as_deref().is_some_and(hit)
        || row.6.as_deref().is_some_and(hit)
}

/// Builds API views for a page of users, keeping the page's order.
pub(crate) fn assemble_views(
    rows: Vec<UserViewRow>,
    attributes: Vec<(String, String, String)>,
    skills: Vec<(String, String, i32)>,
    groups: Vec<(String, String, String)>,
    roles: Vec<(String, String)>,
) -> Result<Vec<UserView>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for row in rows {
        let (id, source, external_id, username, first_name, last_name, email, enabled, c, u) = row;
        index.insert(id.clone(), out.len());
        out.push(UserView {
            id,
            source,
            external_id,
            username,
            first_name,
            last_name,
            email,
            enabled,
            attributes: Attributes::new(),
            skills: BTreeMap::new(),
            groups: Vec::new(),
            roles: Vec::new(),
            created_at: c,
            updated_at: u,
        });
    }
    for (user_id, name, value) in attributes {
        if let Some(&i) = index.get(&user_id) {
            out[i].attributes.entry(name).or_default().push(value);
        }
    }
    for (user_id, skill, competence) in skills {
        if let Some(&i) = index.get(&user_id) {
            let level = u8::try_from(competence).map_err(StoreError::corrupt)?;
            out[i].skills.insert(skill, level);
        }
    }
    for (user_id, id, name) in groups {
        if let Some(&i) = index.get(&user_id) {
            out[i].groups.push(GroupRef { id, name });
        }
    }
    for (user_id, role) in roles {
        if let Some(&i) = index.get(&user_id) {
            out[i].roles.push(role);
        }
    }
    for view in &mut out {
        view.groups
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        view.roles.sort();
    }
    Ok(out)
}

/// Serialises like [`wfm_protocol::ObjectChange`] without cloning the change.
#[derive(Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub(crate) enum ChangeRef<'a> {
    User(&'a UserChange),
    Group(&'a GroupChange),
}

/// The 422 body of a run the planner could not plan.
pub(crate) fn failure_body(err: &SyncError) -> ErrorBody {
    let (code, details) = match err {
        SyncError::InvalidSnapshot(problems) => (
            "invalid_snapshot",
            problems.iter().map(|p| p.to_string()).collect(),
        ),
        SyncError::UnknownRoles(roles) => ("unknown_roles", roles.clone()),
    };
    ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message: err.to_string(),
            details,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wfm_protocol::ObjectChange;
    use wfm_sync::{FieldChange, Op};

    #[test]
    fn times_have_fixed_width_and_sort_as_text() {
        let a = format_time(time::macros::datetime!(2024-03-01 10:00:00 UTC));
        let b = format_time(time::macros::datetime!(2024-03-01 10:00:00.5 +01:00));
        assert_eq!(a, "2024-03-01T10:00:00.000000Z");
        assert_eq!(b, "2024-03-01T09:00:00.500000Z");
        assert!(b < a);
    }

    #[test]
    fn like_patterns_escape_wildcards_and_lowercase() {
        assert_eq!(contains_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn change_refs_serialise_exactly_like_object_changes() {
        let change = GroupChange {
            op: Op::Create,
            id: None,
            external_id: ExternalId::new("10").unwrap(),
            name: "Team".into(),
            desired: None,
            fields: vec![FieldChange {
                field: "name".into(),
                old: None,
                new: Some("Team".into()),
            }],
        };
        let by_ref = serde_json::to_string(&ChangeRef::Group(&change)).unwrap();
        let owned = serde_json::to_string(&ObjectChange::Group(change)).unwrap();
        assert_eq!(by_ref, owned);
        let back: ObjectChange = serde_json::from_str(&by_ref).unwrap();
        assert!(matches!(back, ObjectChange::Group(_)));
    }

    #[test]
    fn content_hashes_are_sha256_hex_of_the_canonical_json() {
        let group = DirectoryGroup {
            external_id: ExternalId::new("10").unwrap(),
            name: "Team".into(),
            attributes: Attributes::new(),
        };
        let json = serde_json::to_string(&group).unwrap();
        assert_eq!(
            json,
            r#"{"external_id":"10","name":"Team","attributes":{}}"#
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(group_hash(&group).unwrap(), sha256_hex(json.as_bytes()));
    }

    #[test]
    fn page_limits_default_and_cap() {
        assert_eq!(page_limit(None), 100);
        assert_eq!(page_limit(Some(0)), 100);
        assert_eq!(page_limit(Some(5000)), 1000);
        assert_eq!(page_limit(Some(7)), 7);
    }
}
