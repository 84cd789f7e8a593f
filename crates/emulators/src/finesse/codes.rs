//! The reason codes a Finesse emulator serves: a seeded set, shared and mutable at runtime.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// `category` of a reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Not Ready reason codes.
    NotReady,
    /// Sign-out reason codes.
    Logout,
}

impl Category {
    /// The wire name: `NOT_READY` or `LOGOUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::NotReady => "NOT_READY",
            Category::Logout => "LOGOUT",
        }
    }
}

/// One `<ReasonCode>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonCode {
    /// `<id>`, also the last segment of `<uri>`.
    pub id: u32,
    /// `<category>`.
    pub category: Category,
    /// `<code>` (the number reported to the contact centre).
    pub code: u32,
    /// `<label>` (free text: may hold `&`, `'`, `<`…).
    pub label: String,
    /// `<forAll>`: global (true) or team-specific (false).
    pub for_all: bool,
    /// `<systemCode>`: predefined by the system (32760–32767 and friends).
    pub system_code: bool,
}

/// The shared, runtime-mutable set of reason codes: clone it to share with the emulator.
#[derive(Clone, Debug, Default)]
pub struct ReasonCodeStore(Arc<RwLock<Vec<ReasonCode>>>);

const NOT_READY_LABELS: &[&str] = &[
    "Break",
    "Lunch",
    "Meeting",
    "Training",
    "Coaching",
    "Team Huddle",
    "Q&A Session",
    "Agent's Admin",
    "Personal Time",
    "Outbound Callbacks",
    "Email Backlog",
    "Technical Issue",
    "Project Work",
    "Mentoring",
];

const LOGOUT_LABELS: &[&str] = &[
    "End of Shift",
    "Sick Leave",
    "Shift Swap & Early Leave",
    "Emergency",
    "Break Out",
];

/// System Not Ready codes: `(code, label)`.
const NOT_READY_SYSTEM: &[(u32, &str)] = &[
    (32760, "System: Supervisor Not Ready"),
    (32761, "System: Device Error"),
    (32762, "System: Offhook"),
    (32763, "System: Call Ended"),
    (32764, "System: Connection Failure"),
    (32765, "System: Agent Reinitialized"),
    (32766, "System: Agent Session Timeout"),
    (32767, "System: Call Not Answered"),
];

/// System sign-out codes: `(code, label)`.
const LOGOUT_SYSTEM: &[(u32, &str)] = &[
    (50002, "System: Connection Failure"),
    (50003, "System: Device Error"),
    (50004, "System: Agent Session Timeout"),
];

impl ReasonCodeStore {
    /// Wraps these codes as they are.
    pub fn new(codes: Vec<ReasonCode>) -> Self {
        ReasonCodeStore(Arc::new(RwLock::new(codes)))
    }

    /// The default set: 12 Not Ready codes (Break, Lunch, Meeting, Training, Coaching, …,
    /// including `Q&A Session` and `Agent's Admin`), the 8 system Not Ready codes 32760–32767,
    /// 4 sign-out codes and 3 system sign-out codes. Ids start at 1, codes are fixed.
    pub fn defaults() -> Self {
        let mut v = Vec::new();
        let mut id = 1;
        for (i, l) in NOT_READY_LABELS.iter().take(12).enumerate() {
            v.push(code(
                id,
                Category::NotReady,
                10 + i as u32,
                l,
                i % 4 != 3,
                false,
            ));
            id += 1;
        }
        for (c, l) in NOT_READY_SYSTEM {
            v.push(code(id, Category::NotReady, *c, l, true, true));
            id += 1;
        }
        for (i, l) in LOGOUT_LABELS.iter().take(4).enumerate() {
            v.push(code(id, Category::Logout, 100 + i as u32, l, true, false));
            id += 1;
        }
        for (c, l) in LOGOUT_SYSTEM {
            v.push(code(id, Category::Logout, *c, l, true, true));
            id += 1;
        }
        Self::new(v)
    }

    /// A seeded set: `not_ready` and `logout` user codes (labels from the default pools,
    /// suffixed when the pool runs out), plus the system codes; ids start at a seeded base and
    /// are not contiguous, codes are distinct. Same seed, same set.
    pub fn generate(seed: u64, not_ready: usize, logout: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut id: u32 = rng.gen_range(1..200);
        let mut codes: Vec<u32> = (1..1000).collect();
        codes.shuffle(&mut rng);
        let mut codes = codes.into_iter();
        let mut v = Vec::new();
        let mut push_user = |v: &mut Vec<ReasonCode>, rng: &mut StdRng, cat, pool: &[&str], n| {
            for i in 0..n {
                let base = pool[i % pool.len()];
                let label = if i < pool.len() {
                    base.to_string()
                } else {
                    format!("{base} {}", i / pool.len() + 1)
                };
                let c = codes.next().unwrap_or(1000 + i as u32);
                v.push(code(id, cat, c, &label, rng.gen_bool(0.8), false));
                id += rng.gen_range(1..4);
            }
        };
        push_user(
            &mut v,
            &mut rng,
            Category::NotReady,
            NOT_READY_LABELS,
            not_ready,
        );
        push_user(&mut v, &mut rng, Category::Logout, LOGOUT_LABELS, logout);
        for (c, l) in NOT_READY_SYSTEM {
            v.push(code(id, Category::NotReady, *c, l, true, true));
            id += 1;
        }
        for (c, l) in LOGOUT_SYSTEM {
            v.push(code(id, Category::Logout, *c, l, true, true));
            id += 1;
        }
        Self::new(v)
    }

    /// Read access (a poisoned lock is recovered).
    pub fn read(&self) -> RwLockReadGuard<'_, Vec<ReasonCode>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access: the next request sees the change.
    pub fn write(&self) -> RwLockWriteGuard<'_, Vec<ReasonCode>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every code, in serving order.
    pub fn all(&self) -> Vec<ReasonCode> {
        self.read().clone()
    }

    /// The code with this id.
    pub fn get(&self, id: u32) -> Option<ReasonCode> {
        self.read().iter().find(|c| c.id == id).cloned()
    }

    /// The codes of one category (all when `None`), in serving order.
    pub fn by_category(&self, category: Option<Category>) -> Vec<ReasonCode> {
        self.read()
            .iter()
            .filter(|c| category.is_none_or(|k| c.category == k))
            .cloned()
            .collect()
    }

    /// Adds a code (its id must be new); returns false when the id is taken.
    pub fn add(&self, code: ReasonCode) -> bool {
        let mut v = self.write();
        if v.iter().any(|c| c.id == code.id) {
            return false;
        }
        v.push(code);
        true
    }

    /// Adds a user code with the next free id; returns the id.
    pub fn add_new(&self, category: Category, code_value: u32, label: &str, for_all: bool) -> u32 {
        let mut v = self.write();
        let id = v.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        v.push(code(id, category, code_value, label, for_all, false));
        id
    }

    /// Renames a code; false when the id is unknown.
    pub fn rename(&self, id: u32, label: &str) -> bool {
        self.update(id, |c| c.label = label.to_string())
    }

    /// Changes a code in place; false when the id is unknown.
    pub fn update(&self, id: u32, f: impl FnOnce(&mut ReasonCode)) -> bool {
        match self.write().iter_mut().find(|c| c.id == id) {
            Some(c) => {
                f(c);
                true
            }
            None => false,
        }
    }

    /// Removes a code; returns it.
    pub fn remove(&self, id: u32) -> Option<ReasonCode> {
        let mut v = self.write();
        let pos = v.iter().position(|c| c.id == id)?;
        Some(v.remove(pos))
    }
}

fn code(
    id: u32,
    category: Category,
    code: u32,
    label: &str,
    for_all: bool,
    system_code: bool,
) -> ReasonCode {
    ReasonCode {
        id,
        category,
        code,
        label: label.to_string(),
        for_all,
        system_code,
    }
}
