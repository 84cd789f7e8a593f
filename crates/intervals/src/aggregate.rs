//! The aggregation: one pass over legs, a hash map keyed on (queue, interval index).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::interval::{IntervalLength, QueueInterval, ServiceLevelThresholds};
use crate::leg::{CallLeg, Disposition, LegKey, Millis, QueueId, UtcMillis};

/// How to aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregationConfig {
    /// Interval length (15 minutes by default).
    pub interval: IntervalLength,
    /// Service-level thresholds of every queue not in `queue_service_levels`.
    pub service_level: ServiceLevelThresholds,
    /// Per-queue thresholds (UCCX `CSQ.servicelevel` differs per CSQ).
    pub queue_service_levels: BTreeMap<QueueId, ServiceLevelThresholds>,
}

impl AggregationConfig {
    /// The thresholds that apply to `queue`.
    pub fn thresholds_for(&self, queue: QueueId) -> ServiceLevelThresholds {
        match self.queue_service_levels.get(&queue) {
            Some(t) => *t,
            None => self.service_level,
        }
    }
}

/// A leg that was not counted because a leg with the same key came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateLeg {
    /// The key shared with the counted leg.
    pub key: LegKey,
    /// The ignored copy (it may differ from the counted one in other fields).
    pub ignored: CallLeg,
}

/// The result: intervals sorted by (queue, start), and the duplicates that were ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregation {
    /// Only intervals with at least one leg; sorted by queue, then start.
    pub intervals: Vec<QueueInterval>,
    /// Ignored duplicate legs, in input order.
    pub duplicates: Vec<DuplicateLeg>,
}

/// Aggregates `legs` into intervals (see the crate docs for the rules). Never panics.
pub fn aggregate<I>(legs: I, config: &AggregationConfig) -> Aggregation
where
    I: IntoIterator,
    I::Item: Borrow<CallLeg>,
{
    let mut aggregator = Aggregator::new(config);
    for leg in legs {
        aggregator.push(leg.borrow());
    }
    aggregator.finish()
}

/// A multiplicative hasher for the integer keys used here (the std SipHash costs more than
/// the rest of the per-leg work). Not DoS-resistant; keys are ids and interval numbers.
#[derive(Default, Clone, Copy)]
struct IntHasher(u64);

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }

    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // murmur3 fmix64: spreads every input bit into the low (bucket) and high (tag) bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type IntBuild = BuildHasherDefault<IntHasher>;

/// Accumulator of one (queue, interval): the output row plus its thresholds in ms.
struct Bucket {
    row: QueueInterval,
    answer_within: u64,
    abandon_within: u64,
}

fn packed_key(key: LegKey) -> u128 {
    (u128::from(key.session.0) << 64) | (u128::from(key.seq) << 32) | u128::from(key.queue.0)
}

/// Incremental form of [`aggregate`]: push legs one at a time (e.g. straight from
/// [`crate::csv::LegReader`]), then [`Aggregator::finish`].
pub struct Aggregator {
    config: AggregationConfig,
    groups: HashMap<(u32, i64), u32, IntBuild>,
    buckets: Vec<Bucket>,
    seen: HashSet<u128, IntBuild>,
    duplicates: Vec<DuplicateLeg>,
    last: Option<((u32, i64), usize)>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(config: &AggregationConfig) -> Aggregator {
        Aggregator::with_capacity(config, 0)
    }

    /// An empty aggregator sized for about `legs` legs (avoids re-hashing the duplicate set).
    pub fn with_capacity(config: &AggregationConfig, legs: usize) -> Aggregator {
        Aggregator {
            config: config.clone(),
            groups: HashMap::default(),
            buckets: Vec::new(),
            seen: HashSet::with_capacity_and_hasher(legs, IntBuild::default()),
            duplicates: Vec::new(),
            last: None,
        }
    }

    /// Legs counted so far (duplicates excluded).
    pub fn legs_counted(&self) -> usize {
        self.seen.len()
    }

    fn bucket_index(&mut self, leg: &CallLeg) -> usize {
        let length = self.config.interval;
        let index = leg.queue_entry.0.div_euclid(length.millis());
        let key = (leg.queue.0, index);
        if let Some((last_key, at)) = self.last {
            if last_key == key {
                return at;
            }
        }
        let next = self.buckets.len();
        let at = *self.groups.entry(key).or_insert(next as u32) as usize;
        if at == next {
            let thresholds = self.config.thresholds_for(leg.queue);
            self.buckets.push(Bucket {
                row: QueueInterval {
                    queue: leg.queue,
                    start: UtcMillis(index.saturating_mul(length.millis())),
                    length,
                    ..QueueInterval::default()
                },
                answer_within: Millis::from_duration(thresholds.answer_within).0,
                abandon_within: Millis::from_duration(thresholds.abandon_within).0,
            });
        }
        self.last = Some((key, at));
        at
    }

    /// Counts one leg; returns `false` (and records it) if its key was already counted.
    pub fn push(&mut self, leg: &CallLeg) -> bool {
        if !self.seen.insert(packed_key(leg.key())) {
            self.duplicates.push(DuplicateLeg {
                key: leg.key(),
                ignored: *leg,
            });
            return false;
        }
        let at = self.bucket_index(leg);
        let bucket = &mut self.buckets[at];
        let row = &mut bucket.row;
        let wait = leg.queue_time.0;
        row.presented += 1;
        row.queue_time.0 = row.queue_time.0.saturating_add(wait);
        if wait > 0 {
            row.queued += 1;
        }
        row.longest_wait.0 = row.longest_wait.0.max(wait);
        match leg.disposition {
            Disposition::Handled => {
                row.handled += 1;
                row.talk.0 = row.talk.0.saturating_add(leg.talk.0);
                row.hold.0 = row.hold.0.saturating_add(leg.hold.0);
                row.work.0 = row.work.0.saturating_add(leg.work.0);
                row.answer_wait.0 = row.answer_wait.0.saturating_add(wait);
                row.longest_answer_wait.0 = row.longest_answer_wait.0.max(wait);
                if wait <= bucket.answer_within {
                    row.answered_within_sl += 1;
                }
            }
            Disposition::HandledWithoutTalk => row.handled_without_talk += 1,
            Disposition::Abandoned | Disposition::Aborted => {
                row.abandoned += 1;
                if leg.disposition == Disposition::Aborted {
                    row.aborted += 1;
                }
                row.longest_abandon_wait.0 = row.longest_abandon_wait.0.max(wait);
                if wait <= bucket.abandon_within {
                    row.abandoned_within_sl += 1;
                }
            }
            Disposition::Dequeued => row.dequeued += 1,
            Disposition::HandledByScript => row.handled_by_script += 1,
            Disposition::HandledByOtherQueue => row.handled_by_other_queue += 1,
        }
        true
    }

    /// The intervals, sorted by (queue, start), and the ignored duplicates.
    pub fn finish(self) -> Aggregation {
        let mut intervals: Vec<QueueInterval> = self.buckets.into_iter().map(|b| b.row).collect();
        intervals.sort_unstable_by_key(|row| (row.queue, row.start));
        Aggregation {
            intervals,
            duplicates: self.duplicates,
        }
    }
}
