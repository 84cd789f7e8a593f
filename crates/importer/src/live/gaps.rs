//! Feed gaps of one live source: when the feed is not known to be complete.
//!
//! Rule (documented in docs/agent-states.md): a gap opens when the CTI session is lost (or at
//! start-up, from the last instant the previous run knew to be complete), when a peripheral or
//! its PG goes offline, or when a message could not be decoded. It is sent at once, open
//! (`to = None`). Once the session is up again (and the peripheral online), the gap *settles*:
//! it closes as soon as every agent last known to be logged in has sent a new
//! AGENT_STATE_EVENT, or when `settle` has passed, whichever comes first. (The CTI Server sends
//! no snapshot to an ALL_EVENTS client, so "states re-established" can only be observed agent by
//! agent; agents nobody knows about — e.g. after a restart — are covered by the time bound.)
//! One gap at a time: a new cause while a gap is open keeps the earlier `from`.

use std::collections::HashSet;
use std::time::Duration;

use time::OffsetDateTime;
use wfm_protocol::states::{AgentState, FeedGap};

use super::normalise::truncate_ms;

#[derive(Debug)]
struct OpenGap {
    from: OffsetDateTime,
    reason: String,
    /// Waiting for the peripheral to come back before settling.
    peripheral_down: bool,
    /// Settling: the deadline and the agents still to report.
    settling: Option<(OffsetDateTime, HashSet<String>, bool)>,
}

/// Tracks the open gap (if any) and which agents are logged in.
#[derive(Debug)]
pub struct GapTracker {
    settle: Duration,
    connected: bool,
    open: Option<OpenGap>,
    logged_in: HashSet<String>,
}

impl GapTracker {
    /// A tracker whose gaps settle within `settle`.
    pub fn new(settle: Duration) -> Self {
        GapTracker {
            settle,
            connected: false,
            open: None,
            logged_in: HashSet::new(),
        }
    }

    /// The open gap's start and reason (persisted in the outbox checkpoint).
    pub fn open_gap(&self) -> Option<(OffsetDateTime, &str)> {
        self.open.as_ref().map(|g| (g.from, g.reason.as_str()))
    }

    /// When the open gap closes at the latest (if it is settling).
    pub fn deadline(&self) -> Option<OffsetDateTime> {
        self.open.as_ref()?.settling.as_ref().map(|(d, _, _)| *d)
    }

    fn open(&mut self, from: OffsetDateTime, reason: &str) -> Option<FeedGap> {
        if self.open.is_some() {
            return None;
        }
        // The hub stores whole milliseconds and refuses finer instants.
        let from = truncate_ms(from);
        self.open = Some(OpenGap {
            from,
            reason: reason.to_string(),
            peripheral_down: false,
            settling: None,
        });
        Some(FeedGap {
            from,
            to: None,
            reason: reason.to_string(),
        })
    }

    fn start_settling(&mut self, now: OffsetDateTime) {
        let deadline = now + self.settle;
        let waiting = self.logged_in.clone();
        if let Some(g) = self.open.as_mut() {
            if !g.peripheral_down {
                let needed = !waiting.is_empty();
                g.settling = Some((deadline, waiting, needed));
            }
        }
    }

    fn close(&mut self, to: OffsetDateTime) -> Option<FeedGap> {
        let g = self.open.take()?;
        Some(FeedGap {
            from: g.from,
            to: Some(truncate_ms(to).max(g.from)),
            reason: g.reason,
        })
    }

    /// The feed starts (or resumes after a restart): a gap from `from`.
    pub fn start(&mut self, from: OffsetDateTime, reason: &str) -> Option<FeedGap> {
        self.open(from, reason)
    }

    /// The session was lost.
    pub fn lost(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        self.connected = false;
        let gap = self.open(now, "reconnect");
        if let Some(g) = self.open.as_mut() {
            g.settling = None;
        }
        gap
    }

    /// A session is open again.
    pub fn connected(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        self.connected = true;
        let gap = self.open(now, "reconnect");
        self.start_settling(now);
        gap
    }

    /// A message was lost (undecodable): some agent's state may be wrong until it changes.
    pub fn lost_message(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        let gap = self.open(now, "undecodable message");
        if self.connected && self.deadline().is_none() {
            self.start_settling(now);
        }
        gap
    }

    /// The peripheral (or its PG) went offline.
    pub fn peripheral_offline(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        let gap = self.open(now, "peripheral offline");
        if let Some(g) = self.open.as_mut() {
            g.peripheral_down = true;
            g.settling = None;
        }
        gap
    }

    /// The peripheral is back online.
    pub fn peripheral_online(&mut self, now: OffsetDateTime) {
        let down = self.open.as_ref().is_some_and(|g| g.peripheral_down);
        if !down {
            return;
        }
        if let Some(g) = self.open.as_mut() {
            g.peripheral_down = false;
        }
        if self.connected {
            self.start_settling(now);
        }
    }

    /// An agent reported `state` at `now`; returns the gap's closing when that completes it.
    pub fn state(
        &mut self,
        agent: &str,
        state: AgentState,
        now: OffsetDateTime,
    ) -> Option<FeedGap> {
        if state == AgentState::LoggedOut {
            self.logged_in.remove(agent);
        } else {
            self.logged_in.insert(agent.to_string());
        }
        let done = match self.open.as_mut().and_then(|g| g.settling.as_mut()) {
            Some((_, waiting, needed)) => {
                waiting.remove(agent);
                *needed && waiting.is_empty()
            }
            None => false,
        };
        if done {
            self.close(now)
        } else {
            None
        }
    }

    /// Closes a settling gap whose deadline has passed.
    pub fn tick(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        match self.deadline() {
            Some(d) if now >= d => self.close(d),
            _ => None,
        }
    }

    /// The importer stops: a gap from now (resumed by the next start).
    pub fn stopped(&mut self, now: OffsetDateTime) -> Option<FeedGap> {
        self.connected = false;
        self.open(now, "importer stopped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    #[test]
    fn reconnect_gap_closes_when_every_logged_in_agent_reported() {
        let mut g = GapTracker::new(Duration::from_secs(300));
        let first = g.connected(t(0)).unwrap();
        assert_eq!((first.from, first.to), (t(0), None));
        assert!(g.state("a", AgentState::Ready, t(1)).is_none());
        // Nobody was known at start: only the time bound closes the first gap.
        assert!(g.tick(t(299)).is_none());
        let closed = g.tick(t(300)).unwrap();
        assert_eq!((closed.from, closed.to), (t(0), Some(t(300))));
        g.state("b", AgentState::NotReady, t(301));
        g.state("c", AgentState::LoggedOut, t(302));

        let open = g.lost(t(400)).unwrap();
        assert_eq!((open.from, open.reason.as_str()), (t(400), "reconnect"));
        assert!(g.connected(t(410)).is_none(), "same gap, not a second one");
        assert!(g.state("a", AgentState::Talking, t(411)).is_none());
        let closed = g.state("b", AgentState::Ready, t(412)).unwrap();
        assert_eq!((closed.from, closed.to), (t(400), Some(t(412))));
        assert!(g.open_gap().is_none());
    }

    #[test]
    fn gap_instants_are_whole_milliseconds_as_the_hub_requires() {
        let mut g = GapTracker::new(Duration::from_secs(10));
        let fine = t(5) + time::Duration::nanoseconds(1_234_567);
        let open = g.connected(fine).unwrap();
        assert_eq!(open.from, t(5) + time::Duration::milliseconds(1));
        let closed = g.tick(fine + time::Duration::seconds(10)).unwrap();
        let to = closed.to.unwrap();
        assert_eq!(to.nanosecond() % 1_000_000, 0, "{to}");
    }

    #[test]
    fn peripheral_offline_gap_settles_only_after_it_is_online() {
        let mut g = GapTracker::new(Duration::from_secs(10));
        g.connected(t(0));
        g.tick(t(10));
        g.state("a", AgentState::Ready, t(11));
        let open = g.peripheral_offline(t(20)).unwrap();
        assert_eq!(open.reason, "peripheral offline");
        assert!(g.state("a", AgentState::Ready, t(21)).is_none());
        assert!(g.tick(t(100)).is_none(), "no deadline while offline");
        g.peripheral_online(t(101));
        let closed = g.state("a", AgentState::NotReady, t(102)).unwrap();
        assert_eq!((closed.from, closed.to), (t(20), Some(t(102))));
    }

    #[test]
    fn a_stopped_gap_is_resumed_with_its_start() {
        let mut g = GapTracker::new(Duration::from_secs(10));
        g.start(t(5), "importer stopped");
        assert_eq!(g.open_gap(), Some((t(5), "importer stopped")));
        assert!(g.connected(t(9)).is_none());
        assert_eq!(g.tick(t(19)).unwrap().to, Some(t(19)));
    }
}
