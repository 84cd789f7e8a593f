use super::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../../shared/fixtures/uccx-hrdb/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (code, meaning) of `table.column` in code-lists.tsv.
fn codes(table: &str, column: &str) -> Vec<(i64, String)> {
    let text = fixture("code-lists.tsv");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 4 && f[0] == table && f[1] == column {
            if let Ok(code) = f[2].parse() {
                out.push((code, f[3].to_string()));
            }
        }
    }
    out
}

fn good() -> QueueVisitRow {
    QueueVisitRow {
        session_id: Some(100),
        session_seq: Some(0),
        csq_id: Some(7),
        queue_entry: Some(UtcMillis(1_000_000)),
        leg_end: Some(UtcMillis(2_000_000)),
        queue_disposition: Some(CQD_HANDLED),
        contact_disposition: Some(CCD_HANDLED),
        queue_time_s: Some(12),
        talk_time_s: Some(60),
        hold_time_s: Some(5),
        work_time_s: Some(30),
    }
}

#[test]
fn every_fixture_queue_disposition_maps_to_its_meaning() {
    let list = codes("contactqueuedetail", "disposition");
    assert_eq!(list.len(), 5, "fixture lists five CQD dispositions");
    for (code, meaning) in list {
        let d = map_disposition(code, CCD_HANDLED, Millis(1000));
        let expected = match meaning.to_ascii_lowercase() {
            m if m.starts_with("abandoned") => Disposition::Abandoned,
            m if m == "handled by csq" => Disposition::Handled,
            m if m.starts_with("dequeued") => Disposition::Dequeued,
            m if m == "handled by script" => Disposition::HandledByScript,
            m if m == "handled by another csq" => Disposition::HandledByOtherQueue,
            m => panic!("unexpected meaning {m}"),
        };
        assert_eq!(d, Some(expected), "code {code} ({meaning})");
    }
}

#[test]
fn abandoned_with_aborted_contact_disposition_is_aborted() {
    let aborted = codes("contactcalldetail", "contactdisposition")
        .into_iter()
        .find(|(_, m)| m == "Aborted")
        .map(|(c, _)| c);
    assert_eq!(aborted, Some(CCD_ABORTED));
    assert_eq!(
        map_disposition(CQD_ABANDONED, CCD_ABORTED, Millis::ZERO),
        Some(Disposition::Aborted)
    );
    assert_eq!(
        map_disposition(CQD_ABANDONED, CCD_ABANDONED, Millis::ZERO),
        Some(Disposition::Abandoned)
    );
}

#[test]
fn handled_requires_talk_time() {
    assert_eq!(
        map_disposition(CQD_HANDLED, CCD_HANDLED, Millis::ZERO),
        Some(Disposition::HandledWithoutTalk)
    );
}

#[test]
fn every_fixture_contact_disposition_is_known_and_no_other() {
    let list = codes("contactcalldetail", "contactdisposition");
    assert_eq!(list.len(), 5);
    for (code, _) in list {
        assert!(is_known_contact_disposition(code), "{code}");
    }
    for code in [-1, 0, 6, 99] {
        assert!(!is_known_contact_disposition(code), "{code}");
    }
}

#[test]
fn unknown_queue_disposition_is_an_error_naming_it() {
    for code in [0, 6, -3, 42] {
        let row = QueueVisitRow {
            queue_disposition: Some(code),
            ..good()
        };
        let err = map_queue_visit(&row, Some(9)).unwrap_err();
        assert_eq!(
            err,
            LegError::UnknownCode {
                row: RowRef {
                    line: Some(9),
                    session: Some(100),
                    seq: Some(0)
                },
                column: Column::QueueDisposition,
                code
            }
        );
        assert!(err
            .to_string()
            .contains(&format!("queue_disposition code {code}")));
    }
}

#[test]
fn unknown_contact_disposition_is_an_error_naming_it() {
    let row = QueueVisitRow {
        contact_disposition: Some(9),
        ..good()
    };
    let err = map_queue_visit(&row, None).unwrap_err();
    assert!(matches!(
        err,
        LegError::UnknownCode {
            column: Column::ContactDisposition,
            code: 9,
            ..
        }
    ));
}

#[test]
fn maps_seconds_to_milliseconds_and_the_logical_queue() {
    let leg = map_queue_visit(&good(), None).unwrap();
    assert_eq!(leg.session, SessionId(100));
    assert_eq!(leg.queue, QueueId(7));
    assert_eq!(leg.disposition, Disposition::Handled);
    assert_eq!(leg.queue_time, Millis(12_000));
    assert_eq!(leg.talk, Millis(60_000));
    assert_eq!(leg.hold, Millis(5_000));
    assert_eq!(leg.work, Millis(30_000));
}

#[test]
fn null_agent_durations_are_zero_not_errors() {
    let row = QueueVisitRow {
        queue_disposition: Some(CQD_ABANDONED),
        contact_disposition: Some(CCD_ABANDONED),
        talk_time_s: None,
        hold_time_s: None,
        work_time_s: None,
        ..good()
    };
    let leg = map_queue_visit(&row, None).unwrap();
    assert_eq!(
        (leg.talk, leg.hold, leg.work),
        (Millis(0), Millis(0), Millis(0))
    );
}

#[test]
fn each_missing_required_value_names_the_row_and_column() {
    type Clear = fn(&mut QueueVisitRow);
    let cases: [(Column, Clear); 8] = [
        (Column::SessionId, |r| r.session_id = None),
        (Column::SessionSeq, |r| r.session_seq = None),
        (Column::CsqId, |r| r.csq_id = None),
        (Column::QueueEntry, |r| r.queue_entry = None),
        (Column::LegEnd, |r| r.leg_end = None),
        (Column::QueueDisposition, |r| r.queue_disposition = None),
        (Column::ContactDisposition, |r| r.contact_disposition = None),
        (Column::QueueTime, |r| r.queue_time_s = None),
    ];
    for (column, clear) in cases {
        let mut row = good();
        clear(&mut row);
        let err = map_queue_visit(&row, Some(3)).unwrap_err();
        let LegError::Missing { row: at, column: c } = err else {
            panic!("{column}: {err:?}");
        };
        assert_eq!(c, column);
        assert_eq!(at.line, Some(3));
        assert_eq!(at.session, row.session_id);
        assert_eq!(at.seq, row.session_seq);
        let text = err.to_string();
        assert!(text.contains(column.name()), "{text}");
    }
    let mut row = good();
    row.csq_id = None;
    assert_eq!(
        map_queue_visit(&row, Some(3)).unwrap_err().to_string(),
        "line 3, session 100 seq 0: csq_id is missing"
    );
}

#[test]
fn negative_durations_are_errors() {
    type Set = fn(&mut QueueVisitRow);
    let cases: [(Column, Set); 4] = [
        (Column::QueueTime, |r| r.queue_time_s = Some(-1)),
        (Column::TalkTime, |r| r.talk_time_s = Some(-1)),
        (Column::HoldTime, |r| r.hold_time_s = Some(-1)),
        (Column::WorkTime, |r| r.work_time_s = Some(-1)),
    ];
    for (column, set) in cases {
        let mut row = good();
        set(&mut row);
        let err = map_queue_visit(&row, None).unwrap_err();
        assert!(
            matches!(err, LegError::Negative { column: c, value: -1, .. } if c == column),
            "{err:?}"
        );
    }
}

#[test]
fn negative_or_out_of_range_ids_are_errors() {
    let row = QueueVisitRow {
        session_seq: Some(40_000),
        ..good()
    };
    assert!(matches!(
        map_queue_visit(&row, None),
        Err(LegError::Invalid {
            column: Column::SessionSeq,
            ..
        })
    ));
    let row = QueueVisitRow {
        csq_id: Some(-5),
        ..good()
    };
    assert!(matches!(
        map_queue_visit(&row, None),
        Err(LegError::Negative {
            column: Column::CsqId,
            ..
        })
    ));
}

#[test]
fn end_before_start_is_an_error() {
    let row = QueueVisitRow {
        leg_end: Some(UtcMillis(999_999)),
        ..good()
    };
    let err = map_queue_visit(&row, None).unwrap_err();
    assert_eq!(err.error_type(), "end_before_start");
    assert!(!err.is_retriable());
    let same = QueueVisitRow {
        leg_end: Some(UtcMillis(1_000_000)),
        ..good()
    };
    assert!(
        map_queue_visit(&same, None).is_ok(),
        "end == start is allowed"
    );
}

/// The "ACD call unanswered" record flow: one CQD row for session 100 seq 0; agent A rang
/// (talk 0, RONA), agent B answered: the ACD sums give talk > 0, so one handled leg.
#[test]
fn fixture_acd_call_unanswered_is_one_handled_leg() {
    let text = fixture("record-flow-acd-call-unanswered.tsv");
    let cqd_rows: Vec<&str> = text.lines().filter(|l| l.starts_with("CQDR")).collect();
    let acd_rows: Vec<&str> = text.lines().filter(|l| l.starts_with("ACDR")).collect();
    assert_eq!(cqd_rows.len(), 1);
    assert_eq!(acd_rows.len(), 2);
    let rona_talk = 0;
    let answered_talk = 95;
    let row = QueueVisitRow {
        talk_time_s: Some(rona_talk + answered_talk),
        ..good()
    };
    let leg = map_queue_visit(&row, None).unwrap();
    assert_eq!(leg.disposition, Disposition::Handled);
    assert_eq!(leg.talk, Millis(95_000));
}
