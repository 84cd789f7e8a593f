use super::*;
use time::macros::datetime;
use wfm_intervals::uccx::QueueVisitRow;

fn spec(policy: BadRowPolicy) -> BatchSpec {
    BatchSpec {
        source: "uccx-hr".into(),
        interval_minutes: 15,
        time_zone: "America/Chicago".into(),
        default_service_level: Duration::from_secs(20),
        bad_rows: policy,
    }
}

fn csq(record: i64, id: i64, name: &str, sl: i64) -> QueueRecord {
    QueueRecord {
        record_id: record,
        queue_id: id,
        name: name.into(),
        service_level_s: Some(sl),
        active: true,
    }
}

fn ms(t: OffsetDateTime) -> wfm_intervals::UtcMillis {
    wfm_intervals::UtcMillis(millis(t))
}

fn visit(
    session: i64,
    csq: i64,
    at: OffsetDateTime,
    cqd: i64,
    wait: i64,
    talk: i64,
) -> QueueVisitRow {
    QueueVisitRow {
        session_id: Some(session),
        session_seq: Some(0),
        csq_id: Some(csq),
        queue_entry: Some(ms(at)),
        leg_end: Some(ms(at + time::Duration::seconds(wait + talk + 30))),
        queue_disposition: Some(cqd),
        contact_disposition: Some(if cqd == 1 { 1 } else { 2 }),
        queue_time_s: Some(wait),
        talk_time_s: (talk > 0).then_some(talk),
        hold_time_s: None,
        work_time_s: (talk > 0).then_some(30),
    }
}

fn window() -> TimeRange {
    TimeRange {
        from: datetime!(2026-03-02 14:00 UTC),
        to: datetime!(2026-03-02 15:00 UTC),
    }
}

#[test]
fn legs_become_intervals_per_logical_queue_with_the_newest_name_and_its_service_level() {
    // CSQ 7 was edited: record 70 then 71 (new name, 30 s service level).
    let queues = [
        csq(70, 7, "Sales", 10),
        csq(71, 7, "Sales EMEA", 30),
        csq(80, 8, "Support", 20),
    ];
    let rows = [
        visit(1, 7, datetime!(2026-03-02 14:01 UTC), 2, 25, 100),
        visit(2, 7, datetime!(2026-03-02 14:14:59 UTC), 1, 12, 0),
        visit(3, 7, datetime!(2026-03-02 14:15 UTC), 2, 5, 60),
        visit(3, 7, datetime!(2026-03-02 14:15 UTC), 2, 5, 60), // duplicate
        visit(4, 8, datetime!(2026-03-02 13:59 UTC), 2, 5, 60), // before the window
    ];
    let built = uccx_batch(
        &spec(BadRowPolicy::Stop),
        window(),
        &queues,
        &rows,
        IntervalOrigin::UccxLegs,
    )
    .unwrap();
    let b = &built.batch;
    assert_eq!(b.queues.len(), 2);
    assert_eq!(b.queues[0].name, "Sales EMEA");
    assert_eq!(b.rows.len(), 2);
    let first = &b.rows[0];
    assert_eq!(
        (first.queue.as_str(), first.start),
        ("7", datetime!(2026-03-02 14:00 UTC))
    );
    assert_eq!(first.figures.presented, 2);
    assert_eq!(first.figures.handled, 1);
    assert_eq!(first.figures.abandoned, 1);
    // 25 s wait is within the edited CSQ's 30 s (it would not be within the old 10 s).
    assert_eq!(first.figures.answered_within_sl, 1);
    assert_eq!(first.figures.talk_ms, 100_000);
    assert_eq!(first.figures.work_ms, 30_000);
    assert_eq!(b.rows[1].start, datetime!(2026-03-02 14:15 UTC));
    assert_eq!(b.rows[1].figures.presented, 1);
    assert_eq!(built.duplicates.len(), 1);
}

#[test]
fn a_bad_row_stops_the_window_naming_the_row_or_is_skipped_when_asked() {
    let queues = [csq(80, 8, "Support", 20)];
    let mut bad = visit(9, 8, datetime!(2026-03-02 14:20 UTC), 2, 5, 60);
    bad.talk_time_s = Some(-4);
    let rows = [visit(1, 8, datetime!(2026-03-02 14:01 UTC), 2, 5, 60), bad];
    let err = uccx_batch(
        &spec(BadRowPolicy::Stop),
        window(),
        &queues,
        &rows,
        IntervalOrigin::UccxLegs,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("session 9") && text.contains("negative"),
        "{text}"
    );
    assert!(text.contains("bad_rows = \"skip\""), "{text}");
    let built = uccx_batch(
        &spec(BadRowPolicy::Skip),
        window(),
        &queues,
        &rows,
        IntervalOrigin::UccxLegs,
    )
    .unwrap();
    assert_eq!(built.skipped.len(), 1);
    assert_eq!(built.batch.rows.len(), 1);
}

#[test]
fn a_misaligned_window_is_refused() {
    let w = TimeRange {
        from: datetime!(2026-03-02 14:05 UTC),
        to: datetime!(2026-03-02 15:00 UTC),
    };
    assert!(uccx_batch(
        &spec(BadRowPolicy::Stop),
        w,
        &[],
        &[],
        IntervalOrigin::UccxLegs
    )
    .is_err());
}

fn ct(id: i64, start: OffsetDateTime, offered: i64) -> CallTypeIntervalRow {
    CallTypeIntervalRow {
        call_type_id: id,
        start,
        time_zone_min: 0,
        calls_offered: Some(offered),
        calls_handled: Some(offered - 1),
        total_calls_aband: Some(1),
        service_level_calls: Some(offered - 2),
        service_level_calls_offered: Some(offered),
        service_level_aband: Some(1),
        answer_wait_time_s: Some(40),
        handle_time_s: Some(600),
        talk_time_s: Some(400),
        hold_time_s: Some(50),
        router_calls_dequeued: None,
    }
}

#[test]
fn ucce_rows_keep_their_native_length_and_work_is_handle_minus_talk_and_hold() {
    let mut s = spec(BadRowPolicy::Stop);
    s.interval_minutes = 30;
    let queues = [QueueRecord {
        record_id: 5001,
        queue_id: 5001,
        name: "CT_Sales".into(),
        service_level_s: None,
        active: true,
    }];
    let rows = [
        ct(5001, datetime!(2026-03-02 14:00 UTC), 10),
        ct(5001, datetime!(2026-03-02 14:30 UTC), 4),
        ct(5001, datetime!(2026-03-02 14:30 UTC), 99), // duplicate: the first one wins
    ];
    let built = ucce_batch(&s, window(), &queues, &rows).unwrap();
    assert_eq!(built.batch.interval_minutes, 30);
    assert_eq!(built.batch.rows.len(), 2);
    let f = &built.batch.rows[0].figures;
    assert_eq!((f.presented, f.handled, f.abandoned), (10, 9, 1));
    assert_eq!(f.work_ms, 150_000);
    assert_eq!(built.batch.rows[1].figures.presented, 4);
    assert_eq!(built.duplicates.len(), 1);
    // A 15-minute row in a 30-minute source is never re-cut: it is an error naming the row.
    let odd = [ct(5001, datetime!(2026-03-02 14:15 UTC), 3)];
    let err = ucce_batch(&s, window(), &queues, &odd)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("call type 5001") && err.contains("interval_minutes"),
        "{err}"
    );
}
