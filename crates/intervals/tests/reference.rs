//! The optimised aggregation against a deliberately naive reference (linear scans, one pass per
//! output field, no shared code beyond the input/output types), on random data.

use std::time::Duration;

use proptest::prelude::*;
use wfm_intervals::{
    aggregate, AggregationConfig, CallLeg, Disposition, IntervalLength, Millis, QueueId,
    QueueInterval, ServiceLevelThresholds, SessionId, UtcMillis,
};

fn interval_start(t: i64, len: i64) -> i64 {
    let mut start = (t / len) * len;
    if start > t {
        start -= len;
    }
    start
}

/// Obviously-correct: de-duplicate by scanning earlier legs, list the (queue, start) pairs, then
/// compute every field by filtering the kept legs.
fn naive(legs: &[CallLeg], config: &AggregationConfig) -> Vec<QueueInterval> {
    let len = match config.interval {
        IntervalLength::Fifteen => 15 * 60 * 1000,
        IntervalLength::Thirty => 30 * 60 * 1000,
    };
    let mut kept: Vec<CallLeg> = Vec::new();
    for leg in legs {
        let seen = kept
            .iter()
            .any(|k| k.session == leg.session && k.seq == leg.seq && k.queue == leg.queue);
        if !seen {
            kept.push(*leg);
        }
    }
    let mut groups: Vec<(QueueId, i64)> = Vec::new();
    for leg in &kept {
        let g = (leg.queue, interval_start(leg.queue_entry.0, len));
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    groups.sort();
    let mut out = Vec::new();
    for (queue, start) in groups {
        let sl = config
            .queue_service_levels
            .get(&queue)
            .copied()
            .unwrap_or(config.service_level);
        let answer_ms = sl.answer_within.as_millis() as u64;
        let abandon_ms = sl.abandon_within.as_millis() as u64;
        let legs: Vec<&CallLeg> = kept
            .iter()
            .filter(|l| {
                l.queue == queue && l.queue_entry.0 >= start && l.queue_entry.0 < start + len
            })
            .collect();
        let count =
            |d: &[Disposition]| legs.iter().filter(|l| d.contains(&l.disposition)).count() as u64;
        let handled: Vec<&&CallLeg> = legs
            .iter()
            .filter(|l| l.disposition == Disposition::Handled)
            .collect();
        let abandoned: Vec<&&CallLeg> = legs
            .iter()
            .filter(|l| matches!(l.disposition, Disposition::Abandoned | Disposition::Aborted))
            .collect();
        let mut row = QueueInterval {
            queue,
            start: UtcMillis(start),
            length: config.interval,
            presented: legs.len() as u64,
            handled: handled.len() as u64,
            handled_without_talk: count(&[Disposition::HandledWithoutTalk]),
            abandoned: abandoned.len() as u64,
            aborted: count(&[Disposition::Aborted]),
            dequeued: count(&[Disposition::Dequeued]),
            handled_by_script: count(&[Disposition::HandledByScript]),
            handled_by_other_queue: count(&[Disposition::HandledByOtherQueue]),
            queued: legs.iter().filter(|l| l.queue_time.0 > 0).count() as u64,
            answered_within_sl: handled
                .iter()
                .filter(|l| l.queue_time.0 <= answer_ms)
                .count() as u64,
            abandoned_within_sl: abandoned
                .iter()
                .filter(|l| l.queue_time.0 <= abandon_ms)
                .count() as u64,
            ..QueueInterval::default()
        };
        for l in &handled {
            row.talk.0 += l.talk.0;
            row.hold.0 += l.hold.0;
            row.work.0 += l.work.0;
            row.answer_wait.0 += l.queue_time.0;
            if l.queue_time > row.longest_answer_wait {
                row.longest_answer_wait = l.queue_time;
            }
        }
        for l in &legs {
            row.queue_time.0 += l.queue_time.0;
            if l.queue_time > row.longest_wait {
                row.longest_wait = l.queue_time;
            }
        }
        for l in &abandoned {
            if l.queue_time > row.longest_abandon_wait {
                row.longest_abandon_wait = l.queue_time;
            }
        }
        out.push(row);
    }
    out
}

const BASE: i64 = 1_772_323_200_000; // 2026-03-01 00:00:00 UTC, a multiple of 30 minutes

fn disposition() -> impl Strategy<Value = Disposition> {
    prop_oneof![
        Just(Disposition::Handled),
        Just(Disposition::HandledWithoutTalk),
        Just(Disposition::Abandoned),
        Just(Disposition::Aborted),
        Just(Disposition::Dequeued),
        Just(Disposition::HandledByScript),
        Just(Disposition::HandledByOtherQueue),
    ]
}

/// Entry times: half exactly on a 15-minute boundary (or 1 ms either side), half anywhere in
/// three hours; also some before 1970 to exercise floor division.
fn entry() -> impl Strategy<Value = i64> {
    prop_oneof![
        (0i64..12, -1i64..=1).prop_map(|(k, d)| BASE + k * 900_000 + d),
        (0i64..3 * 3_600_000).prop_map(|t| BASE + t),
        (-3_600_000i64..3_600_000),
    ]
}

fn duration() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(20_000u64), Just(20_001u64), 0u64..600_000]
}

fn leg() -> impl Strategy<Value = CallLeg> {
    (
        (0u64..40, 0u16..3, 1u32..4),
        entry(),
        disposition(),
        (duration(), duration(), duration(), duration()),
    )
        .prop_map(|((s, seq, q), t, d, (wait, talk, hold, work))| CallLeg {
            session: SessionId(s),
            seq,
            queue: QueueId(q),
            queue_entry: UtcMillis(t),
            disposition: d,
            queue_time: Millis(wait),
            talk: Millis(talk),
            hold: Millis(hold),
            work: Millis(work),
        })
}

fn config() -> impl Strategy<Value = AggregationConfig> {
    (any::<bool>(), 0u64..40, 0u64..40, any::<bool>()).prop_map(|(thirty, a, b, per_queue)| {
        let mut config = AggregationConfig {
            interval: if thirty {
                IntervalLength::Thirty
            } else {
                IntervalLength::Fifteen
            },
            service_level: ServiceLevelThresholds {
                answer_within: Duration::from_secs(a),
                abandon_within: Duration::from_secs(b),
            },
            ..AggregationConfig::default()
        };
        if per_queue {
            config
                .queue_service_levels
                .insert(QueueId(2), ServiceLevelThresholds::default());
        }
        config
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn optimised_aggregation_equals_the_naive_reference(
        legs in prop::collection::vec(leg(), 0..300),
        config in config(),
    ) {
        let fast = aggregate(&legs, &config);
        let slow = naive(&legs, &config);
        prop_assert_eq!(&fast.intervals, &slow);
        let counted: u64 = fast.intervals.iter().map(|i| i.presented).sum();
        prop_assert_eq!(counted as usize + fast.duplicates.len(), legs.len());
        for i in &fast.intervals {
            prop_assert_eq!(
                i.presented,
                i.handled + i.handled_without_talk + i.abandoned + i.dequeued + i.handled_elsewhere()
            );
        }
    }
}
