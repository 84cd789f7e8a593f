//! The user-directory model: what a source says the directory should contain.
//!
//! Shaped after the Keycloak tables the reference product writes (users, multi-valued user
//! attributes, groups with attributes, memberships, role mappings), plus skills with competence.
//! Every object is keyed on `(source id, external id)`; usernames are data and may change.

use crate::ids::{ExternalId, SourceId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Attribute key holding the source's agent id (UCCX `userID`, UCCE `agentId`).
pub const ATTR_AGENT_ID: &str = "agentId";
/// Attribute key holding the agent's phone extension.
pub const ATTR_PHONE_EXTENSION: &str = "phoneExtension";
/// Attribute key holding the secondary e-mail (CUCM `directoryuri`).
pub const ATTR_SECONDARY_EMAIL: &str = "secondaryEmail";
/// Attribute key holding the agent alias.
pub const ATTR_ALIAS: &str = "alias";
/// Attribute key holding the resource type: `agent` or `supervisor`.
pub const ATTR_RESOURCE_TYPE: &str = "resourceType";
/// Attribute key holding the UCCX auto-available flag (`true`/`false`).
pub const ATTR_AUTO_AVAILABLE: &str = "autoAvailable";
/// Attribute key holding the external ids of the teams a user is primary supervisor of.
pub const ATTR_PRIMARY_SUPERVISOR_OF: &str = "primarySupervisorOf";
/// Attribute key holding the external ids of the teams a user is secondary supervisor of.
pub const ATTR_SECONDARY_SUPERVISOR_OF: &str = "secondarySupervisorOf";
/// Group attribute key holding the source's team id.
pub const ATTR_EXTERNAL_GROUP_ID: &str = "externalGroupId";

/// Multi-valued attributes, sorted so that two equal maps compare and serialise identically.
pub type Attributes = BTreeMap<String, Vec<String>>;

/// One person as the source describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    /// Immutable id inside the source (CUCM `pkid` when known, otherwise the source's user id).
    pub external_id: ExternalId,
    /// Login name; may change between syncs without creating a second user.
    pub username: String,
    /// Given name, if the source has one.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name, if the source has one.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Primary e-mail (CUCM `mailid`).
    #[serde(default)]
    pub email: Option<String>,
    /// Multi-valued attributes (`agentId`, `phoneExtension`, `secondaryEmail`, …).
    #[serde(default)]
    pub attributes: Attributes,
    /// Skill name → competence level (1–10 on UCCX).
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// External ids of the groups (teams) this user belongs to, within the same source.
    #[serde(default)]
    pub groups: BTreeSet<ExternalId>,
    /// Hub role names, already mapped through `role_equivalents`.
    #[serde(default)]
    pub roles: BTreeSet<String>,
}

/// One team as the source describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryGroup {
    /// Immutable id inside the source (UCCX `teamId`).
    pub external_id: ExternalId,
    /// Display name (UCCX `teamname`); may change.
    pub name: String,
    /// Multi-valued attributes (`externalGroupId`, …).
    #[serde(default)]
    pub attributes: Attributes,
}

/// Everything one source says the directory should hold for it, at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySnapshot {
    /// The configured source instance this snapshot comes from.
    pub source: SourceId,
    /// All users the source currently has (after filters).
    pub users: Vec<DirectoryUser>,
    /// All groups the source currently has (after filters).
    pub groups: Vec<DirectoryGroup>,
}

/// A role a source can express, before it is mapped to a hub role through `role_equivalents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceRole {
    /// Any agent (UCCX resource type 1).
    Agent,
    /// A supervisor (UCCX resource type 2).
    Supervisor,
    /// Primary supervisor of at least one team.
    PrimarySupervisor,
    /// Secondary supervisor of at least one team.
    SecondarySupervisor,
}

impl SourceRole {
    /// Every source role, in a fixed order.
    pub const ALL: [SourceRole; 4] = [
        SourceRole::Agent,
        SourceRole::Supervisor,
        SourceRole::PrimarySupervisor,
        SourceRole::SecondarySupervisor,
    ];

    /// The key used for this role in `role_equivalents`.
    pub fn key(self) -> &'static str {
        match self {
            SourceRole::Agent => "agent",
            SourceRole::Supervisor => "supervisor",
            SourceRole::PrimarySupervisor => "primary_supervisor",
            SourceRole::SecondarySupervisor => "secondary_supervisor",
        }
    }

    /// Parses a `role_equivalents` key.
    pub fn from_key(key: &str) -> Option<SourceRole> {
        SourceRole::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// A reason a snapshot cannot be applied as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SnapshotProblem {
    /// Two users share one external id.
    #[error("user external id '{external_id}' appears {count} times; each user must appear once (check the source for duplicated records)")]
    DuplicateUser {
        /// The repeated id.
        external_id: String,
        /// How often it appears.
        count: usize,
    },
    /// Two users share one username.
    #[error("username '{username}' is used by {count} users; usernames must be unique within a source (fix the duplicate in the source)")]
    DuplicateUsername {
        /// The repeated username.
        username: String,
        /// How often it appears.
        count: usize,
    },
    /// Two groups share one external id.
    #[error("group external id '{external_id}' appears {count} times; each team must appear once")]
    DuplicateGroup {
        /// The repeated id.
        external_id: String,
        /// How often it appears.
        count: usize,
    },
    /// A user is a member of a group the snapshot does not contain.
    #[error("user '{username}' is a member of group '{group}', which the snapshot does not list")]
    UnknownGroup {
        /// The member.
        username: String,
        /// The missing group's external id.
        group: String,
    },
    /// A username is empty.
    #[error("user with external id '{external_id}' has an empty username")]
    EmptyUsername {
        /// The user.
        external_id: String,
    },
}

impl DirectorySnapshot {
    /// Checks the invariants the sync engine relies on and returns every violation found.
    pub fn problems(&self) -> Vec<SnapshotProblem> {
        let mut problems = Vec::new();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for user in &self.users {
            *by_id.entry(user.external_id.as_str()).or_default() += 1;
            *by_name.entry(user.username.as_str()).or_default() += 1;
            if user.username.is_empty() {
                problems.push(SnapshotProblem::EmptyUsername {
                    external_id: user.external_id.to_string(),
                });
            }
        }
        let mut dup_ids: Vec<_> = by_id.into_iter().filter(|(_, n)| *n > 1).collect();
        dup_ids.sort();
        for (id, count) in dup_ids {
            problems.push(SnapshotProblem::DuplicateUser {
                external_id: id.to_string(),
                count,
            });
        }
        let mut dup_names: Vec<_> = by_name
            .into_iter()
            .filter(|(name, n)| *n > 1 && !name.is_empty())
            .collect();
        dup_names.sort();
        for (username, count) in dup_names {
            problems.push(SnapshotProblem::DuplicateUsername {
                username: username.to_string(),
                count,
            });
        }
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for group in &self.groups {
            *groups.entry(group.external_id.as_str()).or_default() += 1;
        }
        let mut dup_groups: Vec<_> = groups.iter().filter(|(_, n)| **n > 1).collect();
        dup_groups.sort();
        for (id, count) in dup_groups {
            problems.push(SnapshotProblem::DuplicateGroup {
                external_id: id.to_string(),
                count: *count,
            });
        }
        let known: HashSet<&str> = groups.keys().copied().collect();
        for user in &self.users {
            for group in &user.groups {
                if !known.contains(group.as_str()) {
                    problems.push(SnapshotProblem::UnknownGroup {
                        username: user.username.clone(),
                        group: group.to_string(),
                    });
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str, groups: &[&str]) -> DirectoryUser {
        DirectoryUser {
            external_id: ExternalId::new(id).unwrap(),
            username: name.to_string(),
            first_name: None,
            last_name: None,
            email: None,
            attributes: Attributes::new(),
            skills: BTreeMap::new(),
            groups: groups
                .iter()
                .map(|g| ExternalId::new(*g).unwrap())
                .collect(),
            roles: BTreeSet::new(),
        }
    }

    fn group(id: &str) -> DirectoryGroup {
        DirectoryGroup {
            external_id: ExternalId::new(id).unwrap(),
            name: format!("Team {id}"),
            attributes: Attributes::new(),
        }
    }

    #[test]
    fn a_consistent_snapshot_has_no_problems() {
        let snap = DirectorySnapshot {
            source: SourceId::new("uccx").unwrap(),
            users: vec![user("1", "a", &["10"]), user("2", "b", &[])],
            groups: vec![group("10")],
        };
        assert!(snap.problems().is_empty());
    }

    #[test]
    fn duplicates_and_dangling_memberships_are_all_reported() {
        let snap = DirectorySnapshot {
            source: SourceId::new("uccx").unwrap(),
            users: vec![
                user("1", "a", &["10"]),
                user("1", "b", &[]),
                user("3", "b", &["99"]),
            ],
            groups: vec![group("10"), group("10")],
        };
        let problems = snap.problems();
        assert!(problems.contains(&SnapshotProblem::DuplicateUser {
            external_id: "1".into(),
            count: 2
        }));
        assert!(problems.contains(&SnapshotProblem::DuplicateUsername {
            username: "b".into(),
            count: 2
        }));
        assert!(problems.contains(&SnapshotProblem::DuplicateGroup {
            external_id: "10".into(),
            count: 2
        }));
        assert!(problems.contains(&SnapshotProblem::UnknownGroup {
            username: "b".into(),
            group: "99".into()
        }));
    }

    #[test]
    fn source_role_keys_round_trip() {
        for role in SourceRole::ALL {
            assert_eq!(SourceRole::from_key(role.key()), Some(role));
        }
        assert_eq!(SourceRole::from_key("admin"), None);
    }
}
