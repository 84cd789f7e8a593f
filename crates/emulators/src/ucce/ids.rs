//! Stable numeric ids for the UCCE view of the shared data set.
//!
//! The data set keys resources on their user id, which a rename changes. UCCE keys agents on a
//! database id that a rename keeps. [`AgentIndex`] is that side table: an agent keeps its
//! `agentId` as long as its CUCM end user (same user id, found by `pkid`) exists, across renames,
//! team moves and removals of other resources. New resources get the next free id.
//!
//! The index is checked against the data on every request with one string comparison per
//! resource; it is rebuilt (hash maps over every resource) only when that check fails, i.e.
//! after a mutation.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use crate::dataset::{ContactCentre, Resource};

/// The first `agentId` handed out (the first resource of the data set).
pub const FIRST_AGENT_ID: u32 = 5000;

/// Side table from resources to stable `agentId`s, plus look-ups rebuilt with it.
#[derive(Debug)]
pub(crate) struct AgentIndex {
    next_id: u32,
    /// `pkid:{end user pkid}` or `uid:{user id}` → agentId: never forgets an assignment.
    by_key: HashMap<String, u32>,
    /// For position `i` of `resources`: the user id seen there and its agentId.
    aligned: Vec<(String, u32)>,
    /// Positions sorted by agentId.
    order: Vec<usize>,
    by_id: HashMap<u32, usize>,
    by_user: HashMap<String, usize>,
}

impl AgentIndex {
    /// An empty index handing out ids from [`FIRST_AGENT_ID`].
    pub fn new() -> Self {
        AgentIndex {
            next_id: FIRST_AGENT_ID,
            by_key: HashMap::new(),
            aligned: Vec::new(),
            order: Vec::new(),
            by_id: HashMap::new(),
            by_user: HashMap::new(),
        }
    }

    /// Brings the index in line with `cc` (cheap when nothing changed).
    pub fn refresh(&mut self, cc: &ContactCentre) {
        let unchanged = self.aligned.len() == cc.resources.len()
            && self
                .aligned
                .iter()
                .zip(&cc.resources)
                .all(|((user, _), r)| *user == r.user_id);
        if unchanged {
            return;
        }
        self.rebuild(cc);
    }

    fn rebuild(&mut self, cc: &ContactCentre) {
        let pkids: HashMap<&str, &str> = cc
            .end_users
            .iter()
            .map(|u| (u.userid.as_str(), u.pkid.as_str()))
            .collect();
        let n = cc.resources.len();
        let mut ids: Vec<Option<u32>> = vec![None; n];
        let mut used: HashSet<u32> = HashSet::with_capacity(n);
        // Pass 1: resources with an end user keep the id of that end user's pkid.
        for (i, r) in cc.resources.iter().enumerate() {
            let Some(pkid) = pkids.get(r.user_id.as_str()) else {
                continue;
            };
            let key = format!("pkid:{pkid}");
            if let Some(id) = self.by_key.get(&key).copied() {
                if used.insert(id) {
                    ids[i] = Some(id);
                }
            }
        }
        // Pass 2: the rest by user id (an end user removed since), then new ids.
        for (i, r) in cc.resources.iter().enumerate() {
            if ids[i].is_some() {
                continue;
            }
            let uid_key = format!("uid:{}", r.user_id);
            let known = self
                .by_key
                .get(&uid_key)
                .copied()
                .filter(|id| !used.contains(id));
            let id = match known {
                Some(id) => id,
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    id
                }
            };
            if let Some(pkid) = pkids.get(r.user_id.as_str()) {
                self.by_key.insert(format!("pkid:{pkid}"), id);
            }
            self.by_key.insert(uid_key, id);
            used.insert(id);
            ids[i] = Some(id);
        }
        self.aligned = cc
            .resources
            .iter()
            .zip(ids)
            .map(|(r, id)| (r.user_id.clone(), id.unwrap_or_default()))
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.aligned[i].1);
        self.order = order;
        self.by_id = self
            .aligned
            .iter()
            .enumerate()
            .map(|(i, (_, id))| (*id, i))
            .collect();
        self.by_user = self
            .aligned
            .iter()
            .enumerate()
            .map(|(i, (u, _))| (u.clone(), i))
            .collect();
    }

    /// The agentId of the resource at `pos` (after [`AgentIndex::refresh`]).
    pub fn id_at(&self, pos: usize) -> u32 {
        self.aligned.get(pos).map(|(_, id)| *id).unwrap_or_default()
    }

    /// Positions of every resource sorted by agentId.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The position of the resource with this agentId.
    pub fn position_of_id(&self, id: u32) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The position of the resource with this user id.
    pub fn position_of_user(&self, user_id: &str) -> Option<usize> {
        self.by_user.get(user_id).copied()
    }
}

/// A monotonic `changeStamp` per object: starts at 0 and goes up by one each time the rendered
/// content of the object is seen to differ from the last time it was rendered.
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    map: HashMap<(u8, u32), (u64, u32)>,
}

/// Object kinds for [`Stamps`].
pub(crate) const KIND_AGENT: u8 = 0;
/// Object kinds for [`Stamps`].
pub(crate) const KIND_TEAM: u8 = 1;
/// Object kinds for [`Stamps`].
pub(crate) const KIND_SKILL: u8 = 2;

impl Stamps {
    /// The stamp of object `(kind, id)` whose content hashes to `content`.
    pub fn stamp(&mut self, kind: u8, id: u32, content: u64) -> u32 {
        let entry = self.map.entry((kind, id)).or_insert((content, 0));
        if entry.0 != content {
            entry.0 = content;
            entry.1 += 1;
        }
        entry.1
    }
}

/// Hash of everything an agent document shows.
pub(crate) fn resource_hash(r: &Resource) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.user_id.hash(&mut h);
    r.first_name.hash(&mut h);
    r.last_name.hash(&mut h);
    r.kind.hash(&mut h);
    r.team.hash(&mut h);
    r.skills.hash(&mut h);
    r.primary_supervisor_of.hash(&mut h);
    r.secondary_supervisor_of.hash(&mut h);
    h.finish()
}

/// Hash of any hashable content (teams, skill groups).
pub(crate) fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// SplitMix64: a cheap deterministic mix of a seed and an id, for "randomly" absent elements.
pub(crate) fn mix(seed: u64, id: u32) -> u64 {
    let mut z = seed ^ (u64::from(id)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{generate, DatasetSpec};

    #[test]
    fn ids_survive_rename_move_and_removal_of_others() {
        let mut cc = generate(&DatasetSpec {
            agents: 20,
            supervisors: 2,
            teams: 3,
            ..DatasetSpec::default()
        });
        let mut idx = AgentIndex::new();
        idx.refresh(&cc);
        assert_eq!(idx.id_at(0), FIRST_AGENT_ID);
        assert_eq!(idx.id_at(21), FIRST_AGENT_ID + 21);
        let fifth = cc.resources[5].user_id.clone();
        assert!(cc.rename_user(&fifth, "renamed"));
        cc.remove_resource(&cc.resources[1].user_id.clone());
        idx.refresh(&cc);
        let pos = idx.position_of_user("renamed").expect("renamed is indexed");
        assert_eq!(idx.id_at(pos), FIRST_AGENT_ID + 5);
        assert_eq!(idx.position_of_id(FIRST_AGENT_ID + 1), None);
        let mut extra = cc.resources[0].clone();
        extra.user_id = "brandnew".into();
        cc.resources.push(extra);
        idx.refresh(&cc);
        let pos = idx.position_of_user("brandnew").expect("new one indexed");
        assert_eq!(idx.id_at(pos), FIRST_AGENT_ID + 22);
    }
}
