//! Human-readable reports of sync runs and checks.

use crate::job::SyncReport;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use wfm_protocol::ObjectChange;
use wfm_sync::Op;

/// Per-team counts of user changes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TeamCounts {
    /// Users in the team now.
    pub members: u64,
    /// Users created.
    pub created: u64,
    /// Users updated.
    pub updated: u64,
    /// Users disabled.
    pub disabled: u64,
    /// Users re-enabled.
    pub reenabled: u64,
}

/// Groups user changes by team name (from the snapshot; disabled users count under "(not in
/// the source any more)").
pub fn per_team(report: &SyncReport, changes: &[ObjectChange]) -> BTreeMap<String, TeamCounts> {
    let names: HashMap<&str, &str> = report
        .snapshot
        .groups
        .iter()
        .map(|g| (g.external_id.as_str(), g.name.as_str()))
        .collect();
    let mut teams: BTreeMap<String, TeamCounts> = BTreeMap::new();
    let no_team = "(no team)".to_string();
    for user in &report.snapshot.users {
        if user.groups.is_empty() {
            teams.entry(no_team.clone()).or_default().members += 1;
        }
        for g in &user.groups {
            let name = names.get(g.as_str()).copied().unwrap_or(g.as_str());
            teams.entry(name.to_string()).or_default().members += 1;
        }
    }
    let groups_of: HashMap<&str, &std::collections::BTreeSet<wfm_model::ExternalId>> = report
        .snapshot
        .users
        .iter()
        .map(|u| (u.external_id.as_str(), &u.groups))
        .collect();
    for change in changes {
        let ObjectChange::User(u) = change else {
            continue;
        };
        let team_names: Vec<String> = match (u.op, groups_of.get(u.external_id.as_str())) {
            (Op::Disable, _) | (_, None) => vec!["(not in the source any more)".to_string()],
            (_, Some(groups)) if groups.is_empty() => vec![no_team.clone()],
            (_, Some(groups)) => groups
                .iter()
                .map(|g| {
                    names
                        .get(g.as_str())
                        .copied()
                        .unwrap_or(g.as_str())
                        .to_string()
                })
                .collect(),
        };
        for name in team_names {
            let t = teams.entry(name).or_default();
            match u.op {
                Op::Create => t.created += 1,
                Op::Update => t.updated += 1,
                Op::Disable => t.disabled += 1,
                Op::Reenable => t.reenabled += 1,
            }
        }
    }
    teams
}

/// The run summary, warnings and (when `changes` is given) the per-team table.
pub fn render(report: &SyncReport, changes: Option<&[ObjectChange]>) -> String {
    let run = &report.response.run;
    let s = &run.summary;
    let mut out = String::new();
    let verb = if report.refused {
        "REFUSED by the safety limit: nothing was changed"
    } else {
        match run.result {
            wfm_protocol::RunResult::DryRun => "dry run: nothing was changed",
            _ => "applied",
        }
    };
    let _ = writeln!(
        out,
        "sync run {} for source '{}': {verb}",
        run.id, run.source
    );
    if let Some(reason) = &run.reason {
        let _ = writeln!(out, "  reason: {reason}");
    }
    let _ = writeln!(
        out,
        "  users:  {} created, {} updated, {} disabled, {} re-enabled, {} unchanged",
        s.users_created, s.users_updated, s.users_disabled, s.users_reenabled, s.users_unchanged
    );
    let _ = writeln!(
        out,
        "  teams:  {} created, {} updated, {} disabled, {} re-enabled, {} unchanged",
        s.groups_created,
        s.groups_updated,
        s.groups_disabled,
        s.groups_reenabled,
        s.groups_unchanged
    );
    let _ = writeln!(
        out,
        "  memberships: +{} -{}   roles: +{} -{}",
        s.memberships_added, s.memberships_removed, s.roles_added, s.roles_removed
    );
    let _ = writeln!(
        out,
        "  time: {:.2}s reading sources, {:.2}s at the hub",
        report.fetch_time.as_secs_f64(),
        report.hub_time.as_secs_f64()
    );
    for w in &run.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if let Some(changes) = changes {
        let teams = per_team(report, changes);
        let width = teams
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "\n  {:<width$}  {:>7}  {:>7}  {:>7}  {:>8}  {:>10}",
            "team", "members", "created", "updated", "disabled", "re-enabled"
        );
        for (name, t) in &teams {
            let _ = writeln!(
                out,
                "  {:<width$}  {:>7}  {:>7}  {:>7}  {:>8}  {:>10}",
                name, t.members, t.created, t.updated, t.disabled, t.reenabled
            );
        }
    }
    out
}

/// Field-level detail of a change log (for `--dry-run`): one line per object and change.
pub fn render_changes(changes: &[ObjectChange], max: usize) -> String {
    let mut out = String::new();
    for change in changes.iter().take(max) {
        match change {
            ObjectChange::User(u) => {
                let _ = writeln!(out, "  {:?} user {} ({})", u.op, u.username, u.external_id);
                for f in &u.fields {
                    let _ = writeln!(
                        out,
                        "      {}: {} -> {}",
                        f.field,
                        f.old.as_deref().unwrap_or("∅"),
                        f.new.as_deref().unwrap_or("∅")
                    );
                }
                for g in &u.groups_added {
                    let _ = writeln!(out, "      + team {g}");
                }
                for g in &u.groups_removed {
                    let _ = writeln!(out, "      - team {g}");
                }
                for r in &u.roles_added {
                    let _ = writeln!(out, "      + role {r}");
                }
                for r in &u.roles_removed {
                    let _ = writeln!(out, "      - role {r}");
                }
            }
            ObjectChange::Group(g) => {
                let _ = writeln!(out, "  {:?} team {} ({})", g.op, g.name, g.external_id);
                for f in &g.fields {
                    let _ = writeln!(
                        out,
                        "      {}: {} -> {}",
                        f.field,
                        f.old.as_deref().unwrap_or("∅"),
                        f.new.as_deref().unwrap_or("∅")
                    );
                }
            }
        }
    }
    if changes.len() > max {
        let _ = writeln!(out, "  … and {} more", changes.len() - max);
    }
    out
}
