//! Ground-truth checks of the crash and outage tests (issue 6): what the hub holds against what
//! the emulators and the reporting database hold. Every check returns `Err(description)` instead
//! of panicking, so that a test can wait for the hub to converge and then assert.

use std::collections::{BTreeMap, HashMap};

use time::{Duration, OffsetDateTime};
use wfm_emulators::cti::AgentState as EmuState;
use wfm_hrdb::Centre;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::AgentState;

use super::{project, Env};

/// (queue, interval start in Unix seconds) → (presented, handled, abandoned, talk ms).
pub type Figures = BTreeMap<(String, i64), (u64, u64, u64, u64)>;

/// The reference definitions (historical-data.md §2.1) applied to the generator's own rows that
/// were written by `until` (the same reduction as `tests/history.rs`).
pub fn interval_truth(c: &Centre, until: OffsetDateTime) -> Figures {
    let until_ms = (until.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut talk: BTreeMap<(i64, i16, i16), i64> = BTreeMap::new();
    for a in &c.agent_rows {
        *talk
            .entry((a.sessionid, a.sessionseqnum, a.qindex))
            .or_default() += i64::from(a.talktime);
    }
    let mut out = Figures::new();
    for q in &c.queue_rows {
        if q.targettype != 0 || q.write.0 > until_ms {
            continue;
        }
        let Some(csq) = c.logical_csq(q.targetid) else {
            continue;
        };
        let bucket = q.start.0.div_euclid(900_000) * 900;
        let e = out.entry((csq.to_string(), bucket)).or_default();
        e.0 += 1;
        let t = talk
            .get(&(q.sessionid, q.sessionseqnum, q.qindex))
            .copied()
            .unwrap_or(0);
        if q.disposition == 2 && t > 0 {
            e.1 += 1;
            e.3 += t as u64 * 1000;
        }
        if q.disposition == 1 {
            e.2 += 1;
        }
    }
    out
}

/// The hub's intervals of `source` around `around` as [`Figures`].
pub async fn hub_intervals(env: &Env, source: &str, around: OffsetDateTime) -> Figures {
    let rows = env
        .hub
        .store
        .query_intervals(
            &project(),
            Some(source),
            None,
            TimeRange {
                from: around - Duration::days(2),
                to: around + Duration::days(2),
            },
        )
        .await
        .unwrap_or_default();
    rows.into_iter()
        .map(|r| {
            let f = r.figures;
            (
                (r.queue.clone(), r.start.unix_timestamp()),
                (f.presented, f.handled, f.abandoned, f.talk_ms),
            )
        })
        .collect()
}

/// `Err` naming the first differences between the hub's figures and the truth.
pub fn compare_intervals(got: &Figures, truth: &Figures) -> Result<(), String> {
    let missing: Vec<_> = truth.keys().filter(|k| !got.contains_key(*k)).collect();
    let wrong: Vec<_> = truth
        .iter()
        .filter_map(|(k, v)| got.get(k).filter(|g| *g != v).map(|g| (k, *v, *g)))
        .collect();
    let extra: Vec<_> = got.keys().filter(|k| !truth.contains_key(*k)).collect();
    if missing.is_empty() && wrong.is_empty() && extra.is_empty() {
        return Ok(());
    }
    Err(format!(
        "hub intervals differ from the reporting database ({} at the hub vs {} in the truth): \
         {} missing {:?}, {} wrong (truth, hub) {:?}, {} extra {:?}",
        got.len(),
        truth.len(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        wrong.len(),
        wrong.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
    ))
}

/// The users check without panics: every UCCX resource once as an enabled user of source
/// `uccx` with its user id, CUCM e-mail and team; no enabled user the source does not have; no
/// external id twice.
pub async fn users_diff(env: &Env) -> Result<(), String> {
    let cc = env.data.snapshot();
    let users = env.users_of("uccx").await;
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for u in &users {
        *ids.entry(u.external_id.as_str()).or_default() += 1;
    }
    if let Some((id, n)) = ids.iter().find(|(_, n)| **n > 1) {
        return Err(format!("external id {id} is held {n} times"));
    }
    let enabled: Vec<_> = users.iter().filter(|u| u.enabled).collect();
    if enabled.len() != cc.resources.len() {
        return Err(format!(
            "{} enabled users at the hub vs {} UCCX resources",
            enabled.len(),
            cc.resources.len()
        ));
    }
    for r in &cc.resources {
        let found: Vec<_> = enabled.iter().filter(|u| u.username == r.user_id).collect();
        let [u] = found.as_slice() else {
            return Err(format!("user {} is held {} times", r.user_id, found.len()));
        };
        let email = cc
            .end_users
            .iter()
            .find(|e| e.userid == r.user_id)
            .and_then(|e| e.mailid.clone());
        if u.email != email {
            return Err(format!(
                "e-mail of {}: {:?} vs {email:?}",
                r.user_id, u.email
            ));
        }
        let teams: Vec<&str> = u.groups.iter().map(|g| g.name.as_str()).collect();
        let expected: Vec<&str> = r.team.iter().map(|(_, n)| n.as_str()).collect();
        if teams != expected {
            return Err(format!("team of {}: {teams:?} vs {expected:?}", r.user_id));
        }
    }
    Ok(())
}

/// What the live-state check found.
#[derive(Debug, Default)]
pub struct LiveSummary {
    /// Events the emulator wrote to a socket.
    pub sent: usize,
    /// Events the hub holds for the live source.
    pub held: usize,
}

/// The live-state check. Every pushed event is NOT_READY with a reason code used once, so an
/// event is identified by (agent, reason). Every event the hub holds for `source` must be one the
/// emulator wrote to a socket (`sent`: agent id, state, reason), held once, and each agent's
/// events must be in the order the emulator sent them; every reason in `must_have` (events sent
/// while the importer was connected and steady) must be held.
pub async fn live_diff(
    env: &Env,
    source: &str,
    since: OffsetDateTime,
    sent: &[(String, EmuState, u16)],
    must_have: &[(String, u16)],
) -> Result<LiveSummary, String> {
    let mut order: HashMap<(String, u16), usize> = HashMap::new();
    for (i, (agent, state, reason)) in sent.iter().enumerate() {
        if *state != EmuState::NotReady {
            return Err(format!(
                "the emulator sent a {state:?}; the test only pushes NotReady"
            ));
        }
        order.insert((agent.clone(), *reason), i);
    }
    let range = TimeRange {
        from: since - Duration::minutes(1),
        to: OffsetDateTime::now_utc() + Duration::hours(1),
    };
    let segments = env
        .hub
        .store
        .state_segments(&project(), Some(source), None, range)
        .await
        .map_err(|e| format!("state_segments: {e}"))?;
    let mut seen: HashMap<(String, u16), usize> = HashMap::new();
    let mut last: HashMap<String, usize> = HashMap::new();
    for s in &segments {
        if s.state != AgentState::NotReady {
            return Err(format!(
                "the hub holds a {:?} the emulator never sent: {s:?}",
                s.state
            ));
        }
        let Some(reason) = s.reason_code.and_then(|r| u16::try_from(r).ok()) else {
            return Err(format!("the hub holds a state without reason code: {s:?}"));
        };
        let key = (s.agent.clone(), reason);
        let Some(&pos) = order.get(&key) else {
            return Err(format!(
                "the hub holds an event the emulator never sent: {s:?}"
            ));
        };
        let n = seen.entry(key).or_default();
        *n += 1;
        if *n > 1 {
            return Err(format!("the hub holds an event twice: {s:?}"));
        }
        if let Some(prev) = last.insert(s.agent.clone(), pos) {
            if prev > pos {
                return Err(format!("agent {} out of order at {s:?}", s.agent));
            }
        }
    }
    let missing: Vec<_> = must_have
        .iter()
        .filter(|k| !seen.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} event(s) sent while the importer was connected are not at the hub, e.g. {:?}",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        ));
    }
    Ok(LiveSummary {
        sent: sent.len(),
        held: segments.len(),
    })
}
