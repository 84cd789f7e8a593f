//! The feed task of one live source: CTI events → normalised state events and feed gaps →
//! batches (at most `batch_max_events`, at most `batch_max_delay` old) → `Outbox::append`.
//!
//! The outbox checkpoint of a live source is a small JSON [`Checkpoint`]: the instant of the
//! last appended batch and the open gap, so that the next start opens its gap from there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wfm_outbox::{Clock, Outbox};
use wfm_protocol::states::{FeedGap, StateBatch, StateEvent};
use wfm_sources::cti::CtiEvent;

/// SYSTEM_EVENT id "PG offline" (every peripheral of the PG).
const PG_OFFLINE: u32 = 6;

use super::gaps::GapTracker;
use super::normalise::Normaliser;
use super::{blocking, LiveStats};

/// What a live source remembers in the outbox with every batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// When the last batch was appended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
    /// Start of the gap open at that moment.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub gap_from: Option<OffsetDateTime>,
    /// Its reason.
    #[serde(default)]
    pub gap_reason: Option<String>,
}

pub(super) struct Feed {
    pub source: String,
    pub peripheral_id: Option<u32>,
    pub max_events: usize,
    pub max_delay: Duration,
    pub outbox: Arc<Outbox>,
    pub clock: Arc<dyn Clock>,
    pub delivery: Arc<crate::delivery::Delivery>,
    pub stats: Arc<LiveStats>,
    pub gaps: GapTracker,
    pub normaliser: Normaliser,
    pub events: Vec<StateEvent>,
    pub gap_list: Vec<FeedGap>,
    pub batch_deadline: Option<Instant>,
    /// Set by `LiveFeed::shutdown` before CLOSE_REQ: the session end that follows is ours.
    pub stopping: Arc<AtomicBool>,
}

impl Feed {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.clock.now())
    }

    fn push_gap(&mut self, gap: Option<FeedGap>) {
        if let Some(g) = gap {
            self.stats.gaps.fetch_add(1, Ordering::Relaxed);
            tracing::info!(source = %self.source, reason = %g.reason, closed = g.to.is_some(), "live: feed gap");
            self.gap_list.push(g);
            self.arm();
        }
    }

    fn arm(&mut self) {
        if self.batch_deadline.is_none() {
            self.batch_deadline = Some(Instant::now() + self.max_delay);
        }
    }

    /// Opens the start-up gap from the previous run's checkpoint.
    pub fn resume(&mut self) {
        let now = self.now();
        let cp: Checkpoint = self
            .outbox
            .checkpoint(&self.source)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let gap = match (cp.gap_from, cp.gap_reason, cp.last_at) {
            (Some(from), Some(reason), _) => self.gaps.start(from, &reason),
            (_, _, Some(last)) => self.gaps.start(last.min(now), "importer restarted"),
            _ => self.gaps.start(now, "reconnect"),
        };
        self.push_gap(gap);
    }

    fn handle(&mut self, ev: CtiEvent) {
        let now = self.now();
        match ev {
            CtiEvent::AgentState(e) => {
                self.stats.cti_events.fetch_add(1, Ordering::Relaxed);
                if self.peripheral_id.is_some_and(|p| p != e.peripheral_id) {
                    return;
                }
                let Some(state) = self.normaliser.event(&e, now) else {
                    self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %self.source, "live: agent-state event without AgentID skipped");
                    return;
                };
                let closed = self.gaps.state(&state.agent, state.state, state.at);
                self.events.push(state);
                self.arm();
                self.push_gap(closed);
            }
            CtiEvent::Connected { .. } => {
                let g = self.gaps.connected(now);
                self.push_gap(g);
            }
            CtiEvent::Disconnected { .. } => {
                let g = if self.stopping.load(Ordering::SeqCst) {
                    self.gaps.stopped(now)
                } else {
                    self.gaps.lost(now)
                };
                self.push_gap(g);
            }
            CtiEvent::Gap { .. } => {
                // Before `Connected` this is the connect gap (handled there); later it is a
                // message that could not be decoded.
                let g = self.gaps.lost_message(now);
                self.push_gap(g);
            }
            CtiEvent::PeripheralOffline(s) => {
                let ours =
                    s.event_id == PG_OFFLINE || self.peripheral_id.is_none_or(|p| p == s.arg1);
                if ours {
                    let g = self.gaps.peripheral_offline(now);
                    self.push_gap(g);
                }
            }
            CtiEvent::PeripheralOnline(s) => {
                if self.peripheral_id.is_none_or(|p| p == s.arg1) {
                    self.gaps.peripheral_online(now);
                }
            }
        }
    }

    /// Appends the pending events and gaps as one batch (retrying until the outbox takes it).
    async fn flush(&mut self) {
        self.batch_deadline = None;
        if self.events.is_empty() && self.gap_list.is_empty() {
            return;
        }
        let batch = StateBatch {
            source: self.source.clone(),
            window: None,
            events: std::mem::take(&mut self.events),
            gaps: std::mem::take(&mut self.gap_list),
        };
        let n_events = batch.events.len() as u64;
        let payload = match serde_json::to_vec(&batch) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(source = %self.source, error = %e, "live: cannot encode a batch; dropped");
                return;
            }
        };
        let open = self.gaps.open_gap();
        let cp = Checkpoint {
            last_at: Some(self.now()),
            gap_from: open.map(|(f, _)| f),
            gap_reason: open.map(|(_, r)| r.to_string()),
        };
        let checkpoint = serde_json::to_vec(&cp).unwrap_or_default();
        let mut failures = 0u32;
        loop {
            let outbox = self.outbox.clone();
            let source = self.source.clone();
            let p = payload.clone();
            let c = checkpoint.clone();
            match blocking(move || outbox.append(&source, &p, &c)).await {
                Ok(_) => break,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(source = %self.source, error = %e, "live: outbox append failed; retrying (the CTI feed is paused meanwhile)");
                    let wait = Duration::from_millis(100 * u64::from(failures.min(50)));
                    tokio::time::sleep(wait).await;
                }
            }
        }
        self.stats
            .events_appended
            .fetch_add(n_events, Ordering::Relaxed);
        self.stats.batches_appended.fetch_add(1, Ordering::Relaxed);
        self.delivery.ensure_worker(&self.source);
    }

    /// Runs until the CTI client's channel closes (shutdown or a permanent error), then opens
    /// the "importer stopped" gap and appends the last batch.
    pub async fn run(mut self, mut rx: mpsc::Receiver<CtiEvent>) {
        self.resume();
        loop {
            let gap_deadline = self.gaps.deadline().map(|d| {
                let left = d - self.now();
                let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
                Instant::now() + left
            });
            let wake = match (self.batch_deadline, gap_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match wake {
                    Some(w) => tokio::time::sleep_until(w).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        self.handle(ev);
                        // Take whatever else is already queued without waiting.
                        while self.events.len() < self.max_events {
                            match rx.try_recv() {
                                Ok(ev) => self.handle(ev),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                _ = sleep => {}
            }
            let now = self.now();
            let closed = self.gaps.tick(now);
            self.push_gap(closed);
            let due = self.batch_deadline.is_some_and(|d| Instant::now() >= d);
            if self.events.len() >= self.max_events || due {
                self.flush().await;
            }
        }
        let now = self.now();
        let g = self.gaps.stopped(now);
        self.push_gap(g);
        self.flush().await;
    }
}
