//! Seeded event generators: a contact-centre shift and a fixed-rate firehose.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::event::{roster, AgentState, CtiAgent};
use super::{Inner, Scenario};

/// Not-ready reason codes used by the shift: break, lunch, meeting, training.
pub const NOT_READY_REASONS: [u16; 4] = [1, 2, 3, 4];
/// Logout reason code at the end of a shift.
pub const END_OF_SHIFT_REASON: u16 = 50;

/// Starts the configured scenario on its own task.
pub(super) fn start(inner: Arc<Inner>) {
    let agents = roster(&inner.data.read());
    match inner.cfg.scenario.clone() {
        Scenario::Idle => {}
        Scenario::Shift { agents: n, speed } => {
            let agents: Vec<CtiAgent> = agents.into_iter().take(n).collect();
            tokio::spawn(shift(inner, agents, speed));
        }
        Scenario::Rate {
            events_per_sec,
            duration,
        } => {
            tokio::spawn(rate(inner, agents, events_per_sec, duration));
        }
    }
}

async fn rate(inner: Arc<Inner>, agents: Vec<CtiAgent>, per_sec: u32, duration: Duration) {
    if agents.is_empty() || per_sec == 0 {
        return;
    }
    const CYCLE: [AgentState; 4] = [
        AgentState::Available,
        AgentState::Talking,
        AgentState::WorkReady,
        AgentState::NotReady,
    ];
    let templates: Vec<Vec<Arc<super::AgentStateEvent>>> = agents
        .iter()
        .map(|a| {
            CYCLE
                .iter()
                .map(|s| {
                    let reason = if *s == AgentState::NotReady { 1 } else { 0 };
                    Arc::new(a.event(*s, reason))
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let total = (duration.as_secs_f64() * f64::from(per_sec)) as u64;
    let mut emitted: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while emitted < total && !inner.stopped.load(Ordering::Relaxed) {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * f64::from(per_sec)) as u64).min(total);
        while emitted < due {
            let agent = (emitted as usize) % templates.len();
            let step = (emitted as usize / templates.len()) % CYCLE.len();
            inner.broadcast(templates[agent][step].clone());
            emitted += 1;
        }
    }
}

/// Where an agent is in its shift.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Out,
    LoggedIn,
    Ready,
    Talking,
    Wrap,
    Break,
}

async fn shift(inner: Arc<Inner>, agents: Vec<CtiAgent>, speed: f64) {
    if agents.is_empty() || speed <= 0.0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(inner.cfg.seed);
    let shift_len = 8.0 * 3600.0;
    let mut phase = vec![Phase::Out; agents.len()];
    let mut login_at = vec![0.0f64; agents.len()];
    // (simulated millisecond, agent): earliest first.
    let mut queue = BinaryHeap::new();
    for i in 0..agents.len() {
        let t = rng.gen_range(0.0..60.0);
        queue.push(Reverse(((t * 1000.0) as u64, i)));
    }
    let start = Instant::now();
    while let Some(Reverse((ms, i))) = queue.pop() {
        let sim = ms as f64 / 1000.0;
        tokio::time::sleep_until(start + Duration::from_secs_f64(sim / speed)).await;
        if inner.stopped.load(Ordering::Relaxed) {
            return;
        }
        let (state, reason, phase_next, wait) = match phase[i] {
            Phase::Out => {
                login_at[i] = sim;
                (AgentState::Login, 0, Phase::LoggedIn, 1.0)
            }
            Phase::LoggedIn => (
                AgentState::NotReady,
                0,
                Phase::Break,
                rng.gen_range(5.0..30.0),
            ),
            Phase::Break | Phase::Wrap => {
                if sim - login_at[i] > shift_len {
                    (AgentState::Logout, END_OF_SHIFT_REASON, Phase::Out, 0.0)
                } else {
                    (
                        AgentState::Available,
                        0,
                        Phase::Ready,
                        rng.gen_range(5.0..90.0),
                    )
                }
            }
            Phase::Ready => {
                if rng.gen_bool(0.1) {
                    let reason = NOT_READY_REASONS[rng.gen_range(0..NOT_READY_REASONS.len())];
                    (
                        AgentState::NotReady,
                        reason,
                        Phase::Break,
                        rng.gen_range(120.0..900.0),
                    )
                } else {
                    (
                        AgentState::Talking,
                        0,
                        Phase::Talking,
                        rng.gen_range(30.0..420.0),
                    )
                }
            }
            Phase::Talking => {
                let state = if rng.gen_bool(0.5) {
                    AgentState::WorkReady
                } else {
                    AgentState::WorkNotReady
                };
                (state, 0, Phase::Wrap, rng.gen_range(5.0..60.0))
            }
        };
        phase[i] = phase_next;
        inner.broadcast(Arc::new(agents[i].event(state, reason)));
        let wait = if phase_next == Phase::Out {
            // Off shift until the next day's login.
            24.0 * 3600.0 - (sim - login_at[i]) + rng.gen_range(0.0..60.0)
        } else {
            wait
        };
        queue.push(Reverse((((sim + wait) * 1000.0) as u64, i)));
    }
}
