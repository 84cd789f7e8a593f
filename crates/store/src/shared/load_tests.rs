// Tests of the content-hash fast path of `load_current`, against the full loader, for both
// backends. `include!`d into a test module of `sqlite.rs` and `postgres.rs`, which define
// `test_database`.

use std::collections::{BTreeMap, BTreeSet};
use wfm_model::{Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, SourceId};

/// A small deterministic pseudo-random generator (no dependency needed for test data).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn text(&mut self) -> String {
        const PARTS: &[&str] = &["a", "Zoë", "tab\there", "new\nline", "back\\slash", "", "x y"];
        let n = 1 + self.below(3);
        (0..n)
            .map(|_| PARTS[self.below(PARTS.len() as u64) as usize])
            .collect()
    }
}

fn random_attributes(rng: &mut Rng) -> Attributes {
    let mut out = Attributes::new();
    for key in ["alias", "phone", "secondaryEmail", "empty"] {
        if rng.chance(60) {
            // Zero values is allowed and must behave like an absent attribute.
            let n = rng.below(3);
            out.insert(key.to_string(), (0..n).map(|_| rng.text()).collect());
        }
    }
    out
}

fn random_user(rng: &mut Rng, n: usize, groups: &[DirectoryGroup]) -> DirectoryUser {
    let mut skills = BTreeMap::new();
    for skill in ["Billing", "Chat", "Sales"] {
        if rng.chance(50) {
            skills.insert(skill.to_string(), 1 + rng.below(10) as u8);
        }
    }
    let mut member_of = BTreeSet::new();
    for _ in 0..rng.below(3) {
        let g = &groups[rng.below(groups.len() as u64) as usize];
        member_of.insert(g.external_id.clone());
    }
    let mut roles = BTreeSet::new();
    roles.insert("agent".to_string());
    if rng.chance(10) {
        roles.insert("supervisor".to_string());
    }
    DirectoryUser {
        external_id: ExternalId::new(format!("u{n}")).unwrap(),
        username: format!("user{n:05}"),
        first_name: rng.chance(80).then(|| rng.text()),
        last_name: rng.chance(80).then(|| rng.text()),
        email: rng.chance(70).then(|| format!("user{n}@example.com")),
        attributes: random_attributes(rng),
        skills,
        groups: member_of,
        roles,
    }
}

fn random_snapshot(rng: &mut Rng, users: usize, groups: usize) -> DirectorySnapshot {
    let groups: Vec<DirectoryGroup> = (0..groups)
        .map(|g| DirectoryGroup {
            external_id: ExternalId::new(format!("g{g}")).unwrap(),
            name: format!("Team {g}"),
            attributes: random_attributes(rng),
        })
        .collect();
    let users = (0..users).map(|n| random_user(rng, n, &groups)).collect();
    DirectorySnapshot {
        source: SourceId::new("uccx").unwrap(),
        users,
        groups,
    }
}

/// Changes, removes, adds and re-links some users and groups.
fn mutate(rng: &mut Rng, snap: &DirectorySnapshot, next_user: &mut usize) -> DirectorySnapshot {
    let mut out = snap.clone();
    for g in &mut out.groups {
        if rng.chance(10) {
            g.name.push('!');
        }
        if rng.chance(10) {
            g.attributes = random_attributes(rng);
        }
    }
    let groups = out.groups.clone();
    let mut users = Vec::new();
    for u in &out.users {
        let mut u = u.clone();
        match rng.below(20) {
            0 => continue, // removed: disabled
            1 => u = random_user(rng, u.username[4..].parse().unwrap(), &groups),
            2 => {
                // Re-link: a new external id for the same username.
                *next_user += 1;
                u.external_id = ExternalId::new(format!("r{next_user}")).unwrap();
            }
            3 => u.first_name = Some(rng.text()),
            4 => {
                u.attributes = random_attributes(rng);
            }
            5 => {
                u.skills.insert("Chat".into(), 1 + rng.below(10) as u8);
            }
            6 => {
                u.roles.insert("supervisor".into());
            }
            _ => {}
        }
        users.push(u);
    }
    for _ in 0..rng.below(5) {
        *next_user += 1;
        users.push(random_user(rng, *next_user, &groups));
    }
    out.users = users;
    out
}

fn request(snapshot: DirectorySnapshot) -> SyncRequest {
    SyncRequest {
        snapshot,
        dry_run: false,
        allow_mass_disable: true,
        max_disable_ratio: 1.0,
        warnings: Vec::new(),
    }
}

/// Plans `snap` against the store from the hash fast path and from the full loader; asserts
/// that both plans are equal and returns the fast path's statistics.
async fn compare(pool: &Pool, project: &ProjectId, snap: &DirectorySnapshot) -> LoadStats {
    let mut tx = pool.begin().await.unwrap();
    let roles = roles(&mut tx, project).await.unwrap();
    let hashes = DesiredHashes::of(snap).unwrap();
    let fast = load_current(&mut tx, &Fields::clear(), project, "uccx", snap, &hashes)
        .await
        .unwrap();
    let full = load_current_full(&mut tx, &Fields::clear(), project, "uccx").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(fast.current.users.len(), full.users.len());
    assert_eq!(fast.current.groups.len(), full.groups.len());
    let limits = SafetyLimits {
        max_disable_ratio: 1.0,
        allow_mass_disable: true,
    };
    let a = wfm_sync::plan(&fast.current, snap, &roles, &limits).unwrap();
    let b = wfm_sync::plan(&full, snap, &roles, &limits).unwrap();
    assert_eq!(a, b);
    fast.stats
}

async fn apply(pool: &Pool, project: &ProjectId, snap: &DirectorySnapshot, n: i64) {
    let key = format!("k{n}");
    let now = time::macros::datetime!(2025-01-06 08:00:00 UTC) + time::Duration::seconds(n);
    let out = sync_directory(pool, &Fields::clear(), project, &request(snap.clone()), &key, &key, now)
        .await
        .unwrap();
    assert_eq!(out.status(), 200, "{}", String::from_utf8_lossy(out.body()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_fast_path_loads_only_changed_users_and_plans_like_the_full_load() {
    let db = test_database().await;
    let pool = open(db.url(), 2).await.unwrap();
    let project = ProjectId::new("p").unwrap();
    ensure_project(
        &pool,
        &project,
        None,
        &["agent".into(), "supervisor".into()],
        "2025-01-01T00:00:00.000000Z",
    )
    .await
    .unwrap();
    let mut rng = Rng(42);
    let mut snap = random_snapshot(&mut rng, 200, 12);
    let mut next_user = 1000;

    // Nothing stored yet.
    let stats = compare(&pool, &project, &snap).await;
    assert_eq!((stats.users, stats.users_loaded), (0, 0));
    apply(&pool, &project, &snap, 1).await;

    // Unchanged: nothing is read in full.
    let stats = compare(&pool, &project, &snap).await;
    assert_eq!(stats.users, 200);
    assert_eq!((stats.users_loaded, stats.groups_loaded), (0, 0));

    // One user changed: only that user's child rows are read.
    let mut one = snap.clone();
    one.users[17].skills.insert("Chat".into(), 3);
    let stats = compare(&pool, &project, &one).await;
    assert_eq!((stats.users_loaded, stats.groups_loaded), (1, 0));

    // Random rounds of changes, removals (disabled users stay stored and are always read),
    // re-links by username, additions and returns of disabled users.
    let original = snap.clone();
    for round in 0..6 {
        let mut next = mutate(&mut rng, &snap, &mut next_user);
        if round == 3 {
            // Everyone removed so far comes back unchanged: re-enabled with an equal hash.
            let present: BTreeSet<String> =
                next.users.iter().map(|u| u.username.clone()).collect();
            next.users.extend(
                original
                    .users
                    .iter()
                    .filter(|u| !present.contains(&u.username))
                    .cloned(),
            );
        }
        compare(&pool, &project, &next).await;
        apply(&pool, &project, &next, 2 + round).await;
        snap = next;
    }

    // Rows without a hash (written before the hash existed) are read in full, plan the same,
    // and get their hash when the sync finds them unchanged.
    sqlx::query("UPDATE users SET content_hash = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE groups SET content_hash = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let stats = compare(&pool, &project, &snap).await;
    assert_eq!(stats.users_loaded, stats.users);
    apply(&pool, &project, &snap, 100).await;
    let stats = compare(&pool, &project, &snap).await;
    let disabled = stats.users - snap.users.len();
    assert_eq!(stats.users_loaded, disabled);
    assert_eq!(stats.groups_loaded, stats.groups - snap.groups.len());

    pool.close().await;
    db.finish().await;
}
