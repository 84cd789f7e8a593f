//! The in-memory state rebuilt from the log: one `apply` used both by replay on open and by
//! every operation after its record is written, so the two can never disagree.

use std::collections::{BTreeMap, BTreeSet};

use crate::record::{Record, SourceSnapshot};

/// Where a live batch's record is, and its delivery state. The payload stays on disk.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub source: String,
    pub segment: u64,
    pub offset: u64,
    pub frame_len: u64,
    pub payload_len: u64,
    pub appended_at_ms: u64,
    pub attempts: u32,
    pub dead: Option<String>,
}

/// Per-source persisted counters and the pending queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceState {
    pub checkpoint: Option<Vec<u8>>,
    pub received: u64,
    pub delivered: u64,
    pub dead_dropped: u64,
    /// When a batch was last acked (ms since the epoch, 0 = never).
    pub last_delivered_ms: u64,
    /// Pending (not dead-lettered) batch ids, oldest first.
    pub pending: BTreeSet<u64>,
}

/// Location of a record just written or read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location {
    pub segment: u64,
    pub offset: u64,
    pub frame_len: u64,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub sources: BTreeMap<String, SourceState>,
    /// Pending and dead-lettered batches.
    pub live: BTreeMap<u64, Entry>,
    pub next_id: u64,
}

impl State {
    pub fn new() -> State {
        State {
            next_id: 1,
            ..State::default()
        }
    }

    /// Applies one record. Records about batches that are not live are ignored: they refer to
    /// batches already acked, dropped, or carried forward by a later record.
    pub fn apply(&mut self, record: Record, at: Location) {
        match record {
            Record::Snapshot {
                next_id, sources, ..
            } => {
                self.next_id = self.next_id.max(next_id);
                for snap in sources {
                    let state = self.sources.entry(snap.source).or_default();
                    state.checkpoint = snap.checkpoint;
                    state.received = snap.received;
                    state.delivered = snap.delivered;
                    state.dead_dropped = snap.dead_dropped;
                    state.last_delivered_ms = state.last_delivered_ms.max(snap.last_delivered_ms);
                }
            }
            Record::Batch {
                id,
                appended_at_ms,
                source,
                checkpoint,
                payload,
            } => {
                self.next_id = self.next_id.max(id.saturating_add(1));
                if self.live.contains_key(&id) {
                    return;
                }
                let state = self.sources.entry(source.clone()).or_default();
                state.checkpoint = Some(checkpoint);
                state.received += 1;
                state.pending.insert(id);
                self.live.insert(
                    id,
                    Entry {
                        source,
                        segment: at.segment,
                        offset: at.offset,
                        frame_len: at.frame_len,
                        payload_len: payload.len() as u64,
                        appended_at_ms,
                        attempts: 0,
                        dead: None,
                    },
                );
            }
            Record::Carry {
                id,
                appended_at_ms,
                source,
                attempts,
                dead_reason,
                payload,
            } => {
                self.next_id = self.next_id.max(id.saturating_add(1));
                let state = self.sources.entry(source.clone()).or_default();
                if dead_reason.is_some() {
                    state.pending.remove(&id);
                } else {
                    state.pending.insert(id);
                }
                self.live.insert(
                    id,
                    Entry {
                        source,
                        segment: at.segment,
                        offset: at.offset,
                        frame_len: at.frame_len,
                        payload_len: payload.len() as u64,
                        appended_at_ms,
                        attempts,
                        dead: dead_reason,
                    },
                );
            }
            Record::Ack { id, at_ms } => {
                let Some(entry) = self.live.remove(&id) else {
                    return;
                };
                let state = self.sources.entry(entry.source).or_default();
                state.pending.remove(&id);
                state.delivered += 1;
                state.last_delivered_ms = state.last_delivered_ms.max(at_ms);
            }
            Record::Attempt { id, n } => {
                if let Some(entry) = self.live.get_mut(&id) {
                    entry.attempts = n;
                }
            }
            Record::DeadLetter { id, reason } => {
                let Some(entry) = self.live.get_mut(&id) else {
                    return;
                };
                if entry.dead.is_some() {
                    return;
                }
                entry.dead = Some(reason);
                if let Some(state) = self.sources.get_mut(&entry.source) {
                    state.pending.remove(&id);
                }
            }
            Record::Replay { id } => {
                let Some(entry) = self.live.get_mut(&id) else {
                    return;
                };
                if entry.dead.take().is_some() {
                    self.sources
                        .entry(entry.source.clone())
                        .or_default()
                        .pending
                        .insert(id);
                }
            }
            Record::DropDead { id } => {
                let dead = self.live.get(&id).is_some_and(|e| e.dead.is_some());
                if !dead {
                    return;
                }
                if let Some(entry) = self.live.remove(&id) {
                    self.sources.entry(entry.source).or_default().dead_dropped += 1;
                }
            }
        }
    }

    /// The absolute counters and checkpoints, as a snapshot record.
    pub fn snapshot(&self, encryptions: u64) -> Record {
        Record::Snapshot {
            next_id: self.next_id,
            encryptions,
            sources: self
                .sources
                .iter()
                .map(|(name, s)| SourceSnapshot {
                    source: name.clone(),
                    checkpoint: s.checkpoint.clone(),
                    received: s.received,
                    delivered: s.delivered,
                    dead_dropped: s.dead_dropped,
                    last_delivered_ms: s.last_delivered_ms,
                })
                .collect(),
        }
    }

    /// Segments holding at least one pending (not dead-lettered) batch.
    pub fn segments_with_pending(&self) -> BTreeSet<u64> {
        self.live
            .values()
            .filter(|e| e.dead.is_none())
            .map(|e| e.segment)
            .collect()
    }
}
