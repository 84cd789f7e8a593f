//! Matching the same person across sources (e.g. UCCE in two data centres plus Webex CC during a
//! migration). Users stay separate objects, keyed per source and disabled per source; this only
//! *links* them under a match key, and reports what it will not link.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How users of different sources are recognised as one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Same e-mail address, compared case-insensitively (the default).
    #[default]
    Email,
    /// Same username, compared case-insensitively.
    Username,
    /// Never link.
    None,
}

/// What the matcher needs to know of one stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Hub id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Enabled or disabled.
    pub enabled: bool,
}

/// Users of several sources recognised as one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The normalised match key (lower-case e-mail or username).
    pub key: String,
    /// The linked users, one per source.
    pub users: Vec<Identity>,
    /// Differences worth a look (e.g. different names); the users are linked all the same.
    pub notes: Vec<String>,
}

/// A match key the matcher refuses to link, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchConflict {
    /// The normalised match key.
    pub key: String,
    /// Every user carrying it.
    pub users: Vec<Identity>,
    /// Why nothing was linked.
    pub reason: String,
}

/// The result of matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matching {
    /// People found in two or more sources.
    pub people: Vec<Person>,
    /// Keys that are ambiguous, never linked.
    pub conflicts: Vec<MatchConflict>,
}

fn key_of(rule: MatchRule, identity: &Identity) -> Option<String> {
    let raw = match rule {
        MatchRule::Email => identity.email.as_deref()?,
        MatchRule::Username => identity.username.as_str(),
        MatchRule::None => return None,
    };
    let key = raw.trim().to_lowercase();
    (!key.is_empty()).then_some(key)
}

fn full_name(identity: &Identity) -> String {
    format!(
        "{} {}",
        identity.first_name.as_deref().unwrap_or("").trim(),
        identity.last_name.as_deref().unwrap_or("").trim()
    )
    .trim()
    .to_lowercase()
}

/// Links users of different sources that share a match key. A key carried by two users of the
/// *same* source is ambiguous: it is reported as a conflict and nothing is linked under it.
/// Users found in one source only are not listed.
pub fn match_people(rule: MatchRule, identities: &[Identity]) -> Matching {
    let mut by_key: BTreeMap<String, Vec<&Identity>> = BTreeMap::new();
    for identity in identities {
        if let Some(key) = key_of(rule, identity) {
            by_key.entry(key).or_default().push(identity);
        }
    }
    let mut matching = Matching::default();
    for (key, mut users) in by_key {
        users.sort_by(|a, b| a.source.cmp(&b.source).then(a.id.cmp(&b.id)));
        let sources: BTreeSet<&str> = users.iter().map(|u| u.source.as_str()).collect();
        if sources.len() < 2 && users.len() < 2 {
            continue;
        }
        let mut duplicated: Vec<&str> = sources
            .iter()
            .copied()
            .filter(|s| users.iter().filter(|u| u.source == *s).count() > 1)
            .collect();
        duplicated.dedup();
        let owned: Vec<Identity> = users.iter().map(|u| (*u).clone()).collect();
        if !duplicated.is_empty() {
            matching.conflicts.push(MatchConflict {
                key: key.clone(),
                users: owned,
                reason: format!(
                    "'{key}' belongs to more than one user of source {}; not linked — make it unique in the source",
                    duplicated.join(", ")
                ),
            });
            continue;
        }
        let names: BTreeSet<String> = users
            .iter()
            .map(|u| full_name(u))
            .filter(|n| !n.is_empty())
            .collect();
        let mut notes = Vec::new();
        if names.len() > 1 {
            notes.push(format!(
                "the sources disagree on the name: {}",
                names.into_iter().collect::<Vec<_>>().join(" / ")
            ));
        }
        if users.iter().any(|u| !u.enabled) && users.iter().any(|u| u.enabled) {
            notes.push("disabled in some sources, enabled in others".to_string());
        }
        matching.people.push(Person {
            key,
            users: owned,
            notes,
        });
    }
    matching
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(id: &str, source: &str, username: &str, email: Option<&str>, last: &str) -> Identity {
        Identity {
            id: id.to_string(),
            source: source.to_string(),
            username: username.to_string(),
            email: email.map(str::to_string),
            first_name: Some("Ann".into()),
            last_name: Some(last.to_string()),
            enabled: true,
        }
    }

    #[test]
    fn the_same_email_in_two_sources_links_one_person_case_insensitively() {
        let all = [
            id("1", "ucce-dc1", "ann", Some("Ann.Lee@example.com"), "Lee"),
            id(
                "2",
                "webex",
                "ann.lee@example.com",
                Some("ann.lee@example.com "),
                "Lee",
            ),
            id(
                "3",
                "webex",
                "bob@example.com",
                Some("bob@example.com"),
                "Bo",
            ),
        ];
        let m = match_people(MatchRule::Email, &all);
        assert_eq!(m.people.len(), 1);
        assert_eq!(m.people[0].key, "ann.lee@example.com");
        assert_eq!(m.people[0].users.len(), 2);
        assert!(m.people[0].notes.is_empty());
        assert!(m.conflicts.is_empty());
    }

    #[test]
    fn a_key_shared_inside_one_source_is_a_conflict_and_never_linked() {
        let all = [
            id("1", "ucce-dc1", "ann", Some("shared@example.com"), "Lee"),
            id("2", "ucce-dc1", "ann2", Some("shared@example.com"), "Lee"),
            id(
                "3",
                "webex",
                "a@example.com",
                Some("shared@example.com"),
                "Lee",
            ),
        ];
        let m = match_people(MatchRule::Email, &all);
        assert!(m.people.is_empty(), "never silently merged");
        assert_eq!(m.conflicts.len(), 1);
        assert!(m.conflicts[0].reason.contains("ucce-dc1"));
        assert_eq!(m.conflicts[0].users.len(), 3);
    }

    #[test]
    fn differing_names_are_noted_and_users_without_a_key_are_left_alone() {
        let all = [
            id("1", "a", "x", Some("x@example.com"), "Lee"),
            id("2", "b", "x", Some("x@example.com"), "Li"),
            id("3", "a", "y", None, "Y"),
            id("4", "b", "y", None, "Y"),
        ];
        let m = match_people(MatchRule::Email, &all);
        assert_eq!(m.people.len(), 1);
        assert!(m.people[0].notes[0].contains("ann lee / ann li"));
        let by_name = match_people(MatchRule::Username, &all);
        assert_eq!(by_name.people.len(), 2);
        assert!(match_people(MatchRule::None, &all).people.is_empty());
    }
}
