//! Model-based property test: random operation sequences (append, ack, dead-letter, replay,
//! drop, attempt, compact, clean reopen, crash in the middle of an append or ack with the
//! in-flight bytes torn or garbled) against a plain in-memory model.
//!
//! Invariant after every step: everything that returned `Ok` before a crash is still there
//! (pending batches with their payloads and attempts, acks applied, dead letters with their
//! reasons), nothing delivered comes back, checkpoints equal the model's, and conservation
//! holds. An in-flight operation counts only if all of its bytes reached the disk.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use proptest::prelude::*;
use wfm_outbox::{BatchId, Outbox, OutboxConfig};

const SOURCES: [&str; 3] = ["uccx", "axl", "webex"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        source: usize,
        len: usize,
        cp: u8,
    },
    AckOldest {
        source: usize,
    },
    DeadLetterOldest {
        source: usize,
    },
    AttemptOldest {
        source: usize,
    },
    Replay {
        pick: usize,
    },
    DropDead {
        pick: usize,
    },
    Compact,
    Reopen,
    /// Crash during an append (`ack == false`) or during an ack of the oldest batch of
    /// `source`: the bytes written by that operation are cut at `cut` (per mille of them) and,
    /// when `garble`, the lost part is replaced by random bytes of the same length.
    Crash {
        ack: bool,
        source: usize,
        len: usize,
        cut: u16,
        garble: bool,
        seed: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let source = 0..SOURCES.len();
    prop_oneof![
        6 => (source.clone(), 0..700usize, any::<u8>()).prop_map(|(source, len, cp)| Op::Append { source, len, cp }),
        4 => source.clone().prop_map(|source| Op::AckOldest { source }),
        1 => source.clone().prop_map(|source| Op::DeadLetterOldest { source }),
        2 => source.clone().prop_map(|source| Op::AttemptOldest { source }),
        1 => any::<usize>().prop_map(|pick| Op::Replay { pick }),
        1 => any::<usize>().prop_map(|pick| Op::DropDead { pick }),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        2 => (any::<bool>(), source, 0..700usize, 0..=1000u16, any::<bool>(), any::<u64>())
            .prop_map(|(ack, source, len, cut, garble, seed)| Op::Crash { ack, source, len, cut, garble, seed }),
    ]
}

#[derive(Debug, Clone)]
struct MBatch {
    source: String,
    payload: Vec<u8>,
    attempts: u32,
    dead: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct MCounts {
    received: u64,
    delivered: u64,
    dead_dropped: u64,
}

#[derive(Debug, Default)]
struct Model {
    batches: BTreeMap<u64, MBatch>,
    checkpoints: BTreeMap<String, Vec<u8>>,
    counts: BTreeMap<String, MCounts>,
}

impl Model {
    fn oldest(&self, source: &str) -> Option<u64> {
        self.batches
            .iter()
            .find(|(_, b)| b.source == source && b.dead.is_none())
            .map(|(id, _)| *id)
    }
    fn dead(&self, pick: usize) -> Option<u64> {
        let dead: Vec<u64> = self
            .batches
            .iter()
            .filter(|(_, b)| b.dead.is_some())
            .map(|(id, _)| *id)
            .collect();
        if dead.is_empty() {
            return None;
        }
        Some(dead[pick % dead.len()])
    }
    fn append(&mut self, id: u64, source: &str, payload: Vec<u8>, cp: Vec<u8>) {
        self.batches.insert(
            id,
            MBatch {
                source: source.to_string(),
                payload,
                attempts: 0,
                dead: None,
            },
        );
        self.checkpoints.insert(source.to_string(), cp);
        self.counts.entry(source.to_string()).or_default().received += 1;
    }
    fn ack(&mut self, id: u64) {
        if let Some(b) = self.batches.remove(&id) {
            self.counts.entry(b.source).or_default().delivered += 1;
        }
    }
}

fn payload(id_hint: usize, len: usize, cp: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ id_hint ^ cp as usize) as u8)
        .collect()
}

fn cfg(dir: &Path) -> OutboxConfig {
    let mut cfg = config(dir);
    cfg.segment_bytes = 3000; // many rolls
    cfg
}

fn check(outbox: &Outbox, model: &Model) -> Result<(), TestCaseError> {
    let stats = outbox.stats();
    for source in SOURCES {
        prop_assert_eq!(
            outbox.checkpoint(source),
            model.checkpoints.get(source).cloned()
        );
        let expected: Vec<u64> = model
            .batches
            .iter()
            .filter(|(_, b)| b.source == source && b.dead.is_none())
            .map(|(id, _)| *id)
            .collect();
        let got: Vec<u64> = outbox
            .pending(source, usize::MAX)
            .iter()
            .map(|m| m.id.0)
            .collect();
        prop_assert_eq!(&got, &expected, "pending of {}", source);
        match (outbox.try_oldest(source).unwrap(), model.oldest(source)) {
            (None, None) => {}
            (Some(batch), Some(id)) => {
                let m = &model.batches[&id];
                prop_assert_eq!(batch.id.0, id);
                prop_assert_eq!(&batch.payload, &m.payload);
                prop_assert_eq!(batch.attempts, m.attempts);
            }
            (got, want) => prop_assert!(
                false,
                "oldest of {}: {:?} vs {:?}",
                source,
                got.map(|b| b.id),
                want
            ),
        }
        let counts = model.counts.get(source).cloned().unwrap_or_default();
        let dead_kept = model
            .batches
            .values()
            .filter(|b| b.source == source && b.dead.is_some())
            .count() as u64;
        match stats.sources.get(source) {
            None => prop_assert_eq!(counts, MCounts::default()),
            Some(s) => {
                prop_assert_eq!(s.received, counts.received, "received of {}", source);
                prop_assert_eq!(s.delivered, counts.delivered, "delivered of {}", source);
                prop_assert_eq!(s.buffered, expected.len() as u64);
                prop_assert_eq!(s.dead_lettered, dead_kept + counts.dead_dropped);
                prop_assert_eq!(s.received, s.delivered + s.buffered + s.dead_lettered);
            }
        }
    }
    let dead: Vec<(u64, String)> = outbox
        .dead_letters()
        .into_iter()
        .map(|d| (d.meta.id.0, d.reason))
        .collect();
    let want: Vec<(u64, String)> = model
        .batches
        .iter()
        .filter_map(|(id, b)| b.dead.clone().map(|r| (*id, r)))
        .collect();
    prop_assert_eq!(dead, want);
    Ok(())
}

/// Cuts (and maybe garbles) the bytes an interrupted operation wrote. Returns whether all of
/// them survived.
/// When the operation rolled to a new segment, the roll's own records (snapshot, carried
/// batches) were fsync'd before old segments were deleted, so only the bytes after them can tear.
fn tear(
    before: &(PathBuf, u64, u64),
    after: &(PathBuf, u64, u64),
    cut: u16,
    garble: bool,
    seed: u64,
) -> bool {
    let (path, start) = if before.0 == after.0 {
        (after.0.clone(), before.1)
    } else {
        (after.0.clone(), after.2)
    };
    let written = after.1 - start;
    let keep = start + written * u64::from(cut) / 1000;
    if keep == after.1 {
        return true;
    }
    let mut bytes = std::fs::read(&path).unwrap();
    if garble {
        let mut x = seed | 1;
        for b in &mut bytes[keep as usize..] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    } else {
        bytes.truncate(keep as usize);
    }
    std::fs::write(&path, bytes).unwrap();
    false
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, _) = Outbox::open(cfg(dir.path())).unwrap();
    let mut model = Model::default();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Append { source, len, cp } => {
                let data = payload(step, len, cp);
                let id = outbox
                    .append(SOURCES[source], &data, &[cp, step as u8])
                    .unwrap();
                model.append(id.0, SOURCES[source], data, vec![cp, step as u8]);
            }
            Op::AckOldest { source } => {
                if let Some(id) = model.oldest(SOURCES[source]) {
                    outbox.ack(BatchId(id)).unwrap();
                    outbox.ack(BatchId(id)).unwrap();
                    model.ack(id);
                }
            }
            Op::DeadLetterOldest { source } => {
                if let Some(id) = model.oldest(SOURCES[source]) {
                    let reason = format!("rejected at step {step}");
                    outbox.dead_letter(BatchId(id), &reason).unwrap();
                    model.batches.get_mut(&id).unwrap().dead = Some(reason);
                }
            }
            Op::AttemptOldest { source } => {
                if let Some(id) = model.oldest(SOURCES[source]) {
                    let n = outbox.record_attempt(BatchId(id)).unwrap();
                    let m = model.batches.get_mut(&id).unwrap();
                    m.attempts += 1;
                    prop_assert_eq!(n, m.attempts);
                }
            }
            Op::Replay { pick } => {
                if let Some(id) = model.dead(pick) {
                    outbox.replay(BatchId(id)).unwrap();
                    model.batches.get_mut(&id).unwrap().dead = None;
                }
            }
            Op::DropDead { pick } => {
                if let Some(id) = model.dead(pick) {
                    outbox.drop_dead(BatchId(id)).unwrap();
                    let b = model.batches.remove(&id).unwrap();
                    model.counts.entry(b.source).or_default().dead_dropped += 1;
                }
            }
            Op::Compact => outbox.compact().unwrap(),
            Op::Reopen => {
                drop(outbox);
                let (reopened, report) = Outbox::open(cfg(dir.path())).unwrap();
                prop_assert_eq!(report.truncated_bytes, 0);
                outbox = reopened;
            }
            Op::Crash {
                ack,
                source,
                len,
                cut,
                garble,
                seed,
            } => {
                let before = outbox.debug_tail();
                let mut applied: Option<ModelUpdate> = None;
                if ack {
                    if let Some(id) = model.oldest(SOURCES[source]) {
                        outbox.ack(BatchId(id)).unwrap();
                        applied = Some(Box::new(move |m: &mut Model| m.ack(id)));
                    }
                } else {
                    let data = payload(step, len, seed as u8);
                    let cp = vec![seed as u8, step as u8, 0xcc];
                    let id = outbox.append(SOURCES[source], &data, &cp).unwrap();
                    let name = SOURCES[source];
                    applied = Some(Box::new(move |m: &mut Model| {
                        m.append(id.0, name, data, cp)
                    }));
                }
                let after = outbox.debug_tail();
                drop(outbox);
                if let Some(apply) = applied {
                    if tear(&before, &after, cut, garble, seed) {
                        apply(&mut model);
                    }
                }
                let (reopened, _report) = Outbox::open(cfg(dir.path())).unwrap();
                outbox = reopened;
            }
        }
        check(&outbox, &model)?;
    }
    // and a final clean restart sees the same
    drop(outbox);
    let (outbox, _) = Outbox::open(cfg(dir.path())).unwrap();
    check(&outbox, &model)
}

/// What the model does if an interrupted operation's bytes all survived.
type ModelUpdate = Box<dyn FnOnce(&mut Model)>;

fn cases() -> u32 {
    std::env::var("OUTBOX_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn outbox_matches_the_model_across_crashes(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
