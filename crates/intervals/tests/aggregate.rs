//! Worked examples of the attribution rule, duplicates and the derived metrics.

use std::time::Duration;

use wfm_intervals::timestamp::parse;
use wfm_intervals::{
    aggregate, AggregationConfig, Aggregator, CallLeg, Disposition, IntervalLength, Millis,
    QueueId, ServiceLevelThresholds, SessionId, UtcMillis,
};

fn at(text: &str) -> UtcMillis {
    parse(text.as_bytes()).unwrap()
}

fn leg(session: u64, entry: &str, disposition: Disposition, wait_s: u64) -> CallLeg {
    CallLeg {
        session: SessionId(session),
        seq: 0,
        queue: QueueId(1),
        queue_entry: at(entry),
        disposition,
        queue_time: Millis::from_secs(wait_s),
        talk: Millis::from_secs(100),
        hold: Millis::from_secs(10),
        work: Millis::from_secs(30),
    }
}

#[test]
fn a_call_counts_in_the_interval_it_entered_the_queue() {
    let legs = [
        leg(1, "2026-03-29 00:14:59.999", Disposition::Handled, 5),
        leg(2, "2026-03-29 00:15:00.000", Disposition::Handled, 5),
        // entered at 00:29 and waited 10 minutes: still the 00:15 interval, never split
        leg(3, "2026-03-29 00:29:00.000", Disposition::Handled, 600),
    ];
    let out = aggregate(legs, &AggregationConfig::default()).intervals;
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].start, at("2026-03-29 00:00:00"));
    assert_eq!(out[0].presented, 1);
    assert_eq!(out[1].start, at("2026-03-29 00:15:00"));
    assert_eq!(out[1].end(), at("2026-03-29 00:30:00"));
    assert_eq!(out[1].presented, 2);
    assert_eq!(out[1].longest_wait, Millis(600_000));
}

#[test]
fn thirty_minute_intervals() {
    let legs = [
        leg(1, "2026-03-29 00:00:00", Disposition::Handled, 5),
        leg(2, "2026-03-29 00:29:59.999", Disposition::Abandoned, 5),
        leg(3, "2026-03-29 00:30:00", Disposition::Dequeued, 5),
    ];
    let config = AggregationConfig {
        interval: IntervalLength::Thirty,
        ..AggregationConfig::default()
    };
    let out = aggregate(legs, &config).intervals;
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].presented, out[0].handled, out[0].abandoned),
        (2, 1, 1)
    );
    assert_eq!(out[1].dequeued, 1);
    assert_eq!(out[1].length.minutes(), 30);
}

/// Europe's spring-forward night (2026-03-29, 01:00 UTC): UTC intervals are contiguous, 96 a
/// day, with nothing doubled or missing; the local 23-hour day is the hub's view.
#[test]
fn utc_only_so_a_dst_change_changes_nothing() {
    let mut legs = Vec::new();
    for k in 0..96u64 {
        let t = at("2026-03-29 00:00:00").0 + (k as i64) * 900_000 + 1;
        legs.push(CallLeg {
            queue_entry: UtcMillis(t),
            ..leg(k, "2026-03-29 00:00:00", Disposition::Handled, 1)
        });
    }
    let out = aggregate(legs, &AggregationConfig::default()).intervals;
    assert_eq!(out.len(), 96);
    for pair in out.windows(2) {
        assert_eq!(pair[0].end(), pair[1].start);
    }
}

#[test]
fn duplicated_legs_are_counted_once_and_reported() {
    let first = leg(7, "2026-03-02 09:00:00", Disposition::Handled, 5);
    let copy = first;
    let conflicting = CallLeg {
        disposition: Disposition::Abandoned,
        queue_entry: at("2026-03-02 10:00:00"),
        ..first
    };
    let other_queue = CallLeg {
        queue: QueueId(2),
        ..first
    };
    let out = aggregate(
        [first, copy, conflicting, other_queue],
        &AggregationConfig::default(),
    );
    assert_eq!(out.intervals.len(), 2, "queue 1 and queue 2, 09:00 only");
    assert_eq!(out.intervals[0].presented, 1);
    assert_eq!(out.intervals[0].handled, 1);
    assert_eq!(out.duplicates.len(), 2);
    assert_eq!(out.duplicates[0].key, first.key());
    assert_eq!(out.duplicates[1].ignored, conflicting);
}

#[test]
fn metrics_and_every_service_level_variant() {
    // 4 handled (waits 5, 10, 20, 30 s), 2 abandoned (3 s, 60 s, one of them aborted),
    // 1 dequeued, 1 handled by another CSQ, 1 handled without talk. Threshold 20 s.
    let mut legs = vec![
        leg(1, "2026-03-02 09:00:00", Disposition::Handled, 5),
        leg(2, "2026-03-02 09:01:00", Disposition::Handled, 10),
        leg(3, "2026-03-02 09:02:00", Disposition::Handled, 20),
        leg(4, "2026-03-02 09:03:00", Disposition::Handled, 30),
        leg(5, "2026-03-02 09:04:00", Disposition::Abandoned, 3),
        leg(6, "2026-03-02 09:05:00", Disposition::Aborted, 60),
        leg(7, "2026-03-02 09:06:00", Disposition::Dequeued, 40),
        leg(
            8,
            "2026-03-02 09:07:00",
            Disposition::HandledByOtherQueue,
            0,
        ),
        leg(9, "2026-03-02 09:08:00", Disposition::HandledWithoutTalk, 2),
    ];
    legs[1].hold = Millis::ZERO;
    let mut agg = Aggregator::new(&AggregationConfig::default());
    for l in &legs {
        assert!(agg.push(l));
    }
    let out = agg.finish().intervals;
    let i = out[0];
    assert_eq!(i.presented, 9);
    assert_eq!(
        (i.handled, i.abandoned, i.aborted, i.dequeued),
        (4, 2, 1, 1)
    );
    assert_eq!((i.handled_elsewhere(), i.handled_without_talk), (1, 1));
    assert_eq!(i.answered_within_sl, 3, "20 s is within a 20 s threshold");
    assert_eq!(i.abandoned_within_sl, 1);
    assert_eq!(i.talk, Millis(400_000));
    assert_eq!(i.hold, Millis(30_000));
    assert_eq!(i.work, Millis(120_000));
    assert_eq!(i.aht(), Some(Duration::from_millis(137_500)));
    assert_eq!(i.asa(), Some(Duration::from_millis(16_250)));
    assert_eq!(i.queued, 8);
    assert_eq!(i.avg_queue_time(), Some(Duration::from_millis(170_000 / 8)));
    assert_eq!(i.longest_wait, Millis(60_000));
    assert_eq!(i.longest_answer_wait, Millis(30_000));
    assert_eq!(i.longest_abandon_wait, Millis(60_000));
    assert_eq!(i.sl_only_handled(), Some(3.0 / 4.0));
    assert_eq!(i.sl_without_abandon(), Some(3.0 / 8.0));
    assert_eq!(i.sl_positive_abandon(), Some(4.0 / 9.0));
    assert_eq!(i.sl_negative_abandon(), Some(3.0 / 9.0));
    assert_eq!(i.ucce_sl_ignore_abandoned(), Some(3.0 / 7.0));
    assert_eq!(i.ucce_sl_negative_abandon(), Some(3.0 / 8.0));
    assert_eq!(i.ucce_sl_positive_abandon(), Some(4.0 / 8.0));
    assert_eq!(i.handled_ratio(), Some(4.0 / 9.0));
}

#[test]
fn per_queue_thresholds() {
    let mut config = AggregationConfig::default();
    config.queue_service_levels.insert(
        QueueId(2),
        ServiceLevelThresholds {
            answer_within: Duration::from_secs(60),
            abandon_within: Duration::ZERO,
        },
    );
    let q1 = leg(1, "2026-03-02 09:00:00", Disposition::Handled, 30);
    let q2 = CallLeg {
        queue: QueueId(2),
        ..leg(2, "2026-03-02 09:00:00", Disposition::Handled, 30)
    };
    let out = aggregate([q1, q2], &config).intervals;
    assert_eq!(out[0].answered_within_sl, 0);
    assert_eq!(out[1].answered_within_sl, 1);
}

#[test]
fn no_division_by_zero_when_nothing_was_handled() {
    let out = aggregate(
        [leg(1, "2026-03-02 09:00:00", Disposition::Abandoned, 0)],
        &AggregationConfig::default(),
    )
    .intervals;
    assert_eq!(out[0].aht(), None);
    assert_eq!(out[0].asa(), None);
    assert_eq!(out[0].avg_queue_time(), None);
    assert_eq!(out[0].sl_only_handled(), None);
    assert_eq!(out[0].sl_negative_abandon(), Some(0.0));
}

#[test]
fn extreme_values_do_not_panic() {
    let huge = CallLeg {
        session: SessionId(u64::MAX),
        seq: u16::MAX,
        queue: QueueId(u32::MAX),
        queue_entry: UtcMillis(i64::MIN),
        disposition: Disposition::Handled,
        queue_time: Millis(u64::MAX),
        talk: Millis(u64::MAX),
        hold: Millis(u64::MAX),
        work: Millis(u64::MAX),
    };
    let other = CallLeg {
        session: SessionId(0),
        queue_entry: UtcMillis(i64::MAX),
        ..huge
    };
    let out = aggregate(
        [huge, huge, other, CallLeg { seq: 1, ..huge }],
        &AggregationConfig::default(),
    );
    assert_eq!(out.duplicates.len(), 1);
    let total: u64 = out.intervals.iter().map(|i| i.presented).sum();
    assert_eq!(total, 3);
    for i in &out.intervals {
        let _ = (i.aht(), i.asa(), i.sl_without_abandon(), i.end());
    }
}
