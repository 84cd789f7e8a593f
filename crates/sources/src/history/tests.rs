//! Unit tests of the pure parts: time conversions, bounds, error classification, row checks.

use super::decode::{self, RawInterval, RawVisit};
use super::error::{classify, statement_error, Cause};
use super::{Dialect, HistoryError};
use std::time::Duration;

#[test]
fn ucce_time_zone_300_is_five_hours_behind_utc() {
    // Local 09:00 with TimeZone 300 (US Eastern standard time) is 14:00 UTC.
    let local = decode::parse_text_time("2024-01-15 09:00:00").unwrap();
    let row = decode::interval(RawInterval {
        call_type_id: Some(5000),
        local_ms: Some(local),
        time_zone_min: Some(300),
        values: [Some(1); 11],
    })
    .unwrap();
    assert_eq!(row.start, time::macros::datetime!(2024-01-15 14:00 UTC));
    let east = decode::interval(RawInterval {
        call_type_id: Some(5000),
        local_ms: Some(local),
        time_zone_min: Some(-60),
        values: [None; 11],
    })
    .unwrap();
    assert_eq!(east.start, time::macros::datetime!(2024-01-15 08:00 UTC));
}

#[test]
fn ucce_null_time_zone_is_a_bad_row_naming_the_column() {
    let err = decode::interval(RawInterval {
        call_type_id: Some(7),
        local_ms: Some(0),
        time_zone_min: None,
        values: [None; 11],
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::BadRow { .. }));
    assert!(
        text.contains("call_type_interval") && text.contains("timezone"),
        "{text}"
    );
    assert!(text.contains("calltypeid 7"), "{text}");
}

#[test]
fn text_bounds_compare_with_and_without_fraction() {
    let from = decode::parse_text_time("2024-01-01 10:00:00").unwrap();
    let b = decode::text_bound(from);
    assert_eq!(b, "2024-01-01 10:00:00");
    assert!("2024-01-01 10:00:00" >= b.as_str());
    assert!("2024-01-01 10:00:00.000" >= b.as_str());
    assert!("2024-01-01 09:59:59.999" < b.as_str());
    let mid = decode::text_bound(from + 500);
    assert_eq!(mid, "2024-01-01 10:00:00.500");
    assert!("2024-01-01 10:00:00" < mid.as_str());
}

#[test]
fn parse_text_time_accepts_t_and_long_fractions() {
    let a = decode::parse_text_time("2024-01-01T10:00:00.123456").unwrap();
    let b = decode::parse_text_time("2024-01-01 10:00:00.123").unwrap();
    assert_eq!(a, b);
    assert_eq!(decode::parse_text_time("yesterday"), None);
}

#[test]
fn unknown_csq_is_reported_with_the_row() {
    let err = decode::visit(RawVisit {
        session: Some(100),
        seq: Some(0),
        target_id: Some(42),
        csq_record: None,
        ..RawVisit::default()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        HistoryError::UnknownQueue {
            session: Some(100),
            seq: Some(0),
            target_id: 42
        }
    ));
    assert!(err.to_string().contains("recordid 42"));
}

#[test]
fn null_targetid_is_a_bad_row() {
    let err = decode::visit(RawVisit {
        session: Some(1),
        seq: Some(2),
        ..RawVisit::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("targetid"), "{err}");
}

#[test]
fn nulls_in_value_columns_are_returned_not_rejected() {
    let row = decode::visit(RawVisit {
        session: Some(1),
        seq: Some(0),
        target_id: Some(3),
        csq_record: Some(3),
        ..RawVisit::default()
    })
    .unwrap();
    assert_eq!(row.csq_id, None);
    assert_eq!(row.leg_end, None);
}

#[test]
fn classifies_driver_messages() {
    assert_eq!(
        classify("42P01", "ERROR: relation \"call_type\" does not exist"),
        Cause::MissingTable
    );
    assert_eq!(
        classify("", "no such table: contactcalldetail"),
        Cause::MissingTable
    );
    assert_eq!(
        classify("42S02", "Invalid object name 'call_type_interval'."),
        Cause::MissingTable
    );
    assert_eq!(
        classify("08001", "FATAL: role \"nobody\" does not exist"),
        Cause::Auth
    );
    assert_eq!(classify("28000", "Login failed for user 'x'."), Cause::Auth);
    assert_eq!(
        classify("08S01", "server closed the connection unexpectedly"),
        Cause::Disconnected
    );
    assert_eq!(classify("HYT00", "Timeout expired"), Cause::Timeout);
    assert_eq!(
        classify("42703", "ERROR: column \"foo\" does not exist"),
        Cause::Other
    );
}

#[test]
fn missing_table_names_the_table_from_the_message_and_the_other_dialect() {
    let err = statement_error(
        Cause::MissingTable,
        Dialect::Uccx,
        "contactqueuedetail",
        "ERROR: relation \"agentconnectiondetail\" does not exist".to_string(),
        Duration::from_secs(5),
    );
    match &err {
        HistoryError::MissingTable {
            table,
            dialect_hint,
        } => {
            assert_eq!(table, "agentconnectiondetail");
            assert!(dialect_hint.contains("UCCE"));
        }
        other => panic!("{other:?}"),
    }
    let err = statement_error(
        Cause::MissingTable,
        Dialect::Ucce,
        "call_type",
        "no such table: call_type_interval".to_string(),
        Duration::from_secs(5),
    );
    assert!(
        matches!(err, HistoryError::MissingTable { ref table, .. } if table == "call_type_interval")
    );
}

#[test]
fn csq_active_flags() {
    for (text, want) in [("t", true), ("1", true), ("f", false), ("0", false)] {
        let q = decode::csq(
            Some(1),
            Some(2),
            Some("Sales ".into()),
            Some(20),
            Some(text),
        )
        .unwrap();
        assert_eq!(q.active, want);
        assert_eq!(q.name, "Sales");
    }
    assert!(decode::csq(Some(1), Some(2), Some("S".into()), None, Some("maybe")).is_err());
    assert!(
        !decode::csq(Some(1), Some(2), Some("S".into()), None, None)
            .unwrap()
            .active
    );
    let err = decode::csq(Some(1), None, Some("S".into()), None, None).unwrap_err();
    assert!(err.to_string().contains("contactservicequeueid"));
}

#[test]
fn civil_round_trip() {
    for ms in [0i64, 1_709_251_199_999, -1, 86_399_999] {
        let (y, m, d, hh, mm, ss, ns) = decode::millis_civil(ms);
        assert_eq!(decode::civil_millis(y, m, d, hh, mm, ss, ns), Some(ms));
    }
}

#[test]
fn ucce_agent_state_time_is_local_plus_time_zone() {
    let local = decode::parse_text_time("2024-01-15 09:00:00.500").unwrap();
    let row = decode::agent_state(
        Dialect::Ucce,
        decode::RawState {
            agent: Some(5001),
            time_ms: Some(local),
            time_zone_min: Some(300),
            state: Some(2),
            reason: Some(7),
        },
    )
    .unwrap();
    assert_eq!(row.at, time::macros::datetime!(2024-01-15 14:00:00.500 UTC));
    assert_eq!(
        (row.agent_id, row.raw_state, row.reason_code),
        (5001, 2, Some(7))
    );
}

#[test]
fn uccx_agent_state_needs_agent_time_and_event_type_but_not_a_time_zone() {
    let ok = decode::agent_state(
        Dialect::Uccx,
        decode::RawState {
            agent: Some(501),
            time_ms: Some(0),
            time_zone_min: None,
            state: Some(3),
            reason: None,
        },
    )
    .unwrap();
    assert_eq!(ok.at, time::OffsetDateTime::UNIX_EPOCH);
    let err = decode::agent_state(
        Dialect::Uccx,
        decode::RawState {
            agent: Some(501),
            time_ms: Some(0),
            ..decode::RawState::default()
        },
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("agentstatedetail")
            && text.contains("eventtype")
            && text.contains("agentid 501"),
        "{text}"
    );
}
