use super::*;
use crate::leg::{Disposition, Millis, QueueId, SessionId};
use proptest::prelude::*;

const HEADER: &str = "session_id,session_seq,csq_id,queue_entry,leg_end,queue_disposition,\
contact_disposition,queue_time,talk_time,hold_time,work_time\n";

fn read_all(text: &str) -> Vec<Result<CallLeg, CsvError>> {
    LegReader::new(text.as_bytes()).unwrap().collect()
}

/// A reader that hands out one byte per call: every line straddles buffer refills.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

#[test]
fn reads_a_row_into_a_leg() {
    let text =
        format!("{HEADER}100,1,7,2026-03-02 09:14:59.123,2026-03-02 09:20:00,2,2,35,180,,30\n");
    let legs = read_all(&text);
    let leg = legs[0].as_ref().unwrap();
    assert_eq!(leg.session, SessionId(100));
    assert_eq!(leg.seq, 1);
    assert_eq!(leg.queue, QueueId(7));
    assert_eq!(
        timestamp::format_millis(leg.queue_entry),
        "2026-03-02 09:14:59.123"
    );
    assert_eq!(leg.disposition, Disposition::Handled);
    assert_eq!(leg.queue_time, Millis(35_000));
    assert_eq!(leg.hold, Millis(0), "NULL hold time is 0");
    assert_eq!(leg.work, Millis(30_000));
}

#[test]
fn header_in_any_order_with_extra_columns_quotes_and_crlf() {
    let text = "\"CSQ_ID\",note,session_id,session_seq,queue_entry,leg_end,queue_disposition,\
contact_disposition,queue_time,talk_time,hold_time,work_time\r\n\
\"7\",x,\"100\",0,\"2026-03-02 09:00:00\",2026-03-02 09:01:00,1,1,4,,,\r\n\
8,y,101,0,2026-03-02 09:00:00,2026-03-02 09:01:00,1,4,4,,,";
    let legs: Vec<CallLeg> = read_all(text).into_iter().map(Result::unwrap).collect();
    assert_eq!(legs.len(), 2, "last line without a line end is read");
    assert_eq!(legs[0].queue, QueueId(7));
    assert_eq!(legs[0].disposition, Disposition::Abandoned);
    assert_eq!(legs[1].disposition, Disposition::Aborted);
}

#[test]
fn one_byte_reads_give_the_same_legs() {
    let mut text = HEADER.to_string();
    for s in 0..50 {
        text.push_str(&format!(
            "{s},0,3,2026-03-02 09:{:02}:00.5,2026-03-02 10:00:00,2,2,{s},60,0,5\n",
            s % 60
        ));
    }
    let whole = read_all(&text);
    let trickled: Vec<_> = LegReader::new(Trickle(text.as_bytes())).unwrap().collect();
    assert_eq!(whole.len(), 50);
    assert_eq!(
        whole
            .iter()
            .map(|r| r.as_ref().unwrap())
            .collect::<Vec<_>>(),
        trickled
            .iter()
            .map(|r| r.as_ref().unwrap())
            .collect::<Vec<_>>()
    );
}

#[test]
fn missing_header_column_is_an_error() {
    let Err(err) = LegReader::new("session_id,session_seq\n1,2\n".as_bytes()) else {
        panic!("accepted");
    };
    assert!(err.to_string().contains("missing column csq_id"), "{err}");
    assert!(LegReader::new("".as_bytes()).is_err());
    let twice = HEADER.replace("work_time", "work_time,csq_id");
    assert!(LegReader::new(twice.as_bytes()).is_err());
}

#[test]
fn null_required_value_names_line_session_seq_and_column() {
    let text = format!("{HEADER}100,3,7,,2026-03-02 09:20:00,2,2,35,180,0,30\n");
    let err = read_all(&text).remove(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, session 100 seq 3: queue_entry is missing"
    );
    assert_eq!(err.error_type(), "missing_value");
}

#[test]
fn unparsable_value_names_the_column_and_value() {
    let text =
        format!("{HEADER}100,3,7,2026-03-02 09:00:00,2026-03-02 09:20:00,2,2,3.5,180,0,30\n");
    let err = read_all(&text).remove(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, session 100 seq 3: queue_time is not valid: \"3.5\""
    );
    let text = format!("{HEADER}x1,3,7,2026-03-02 09:00:00,2026-03-02 09:20:00,2,2,3,180,0,30\n");
    let err = read_all(&text).remove(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, session ? seq 3: session_id is not valid: \"x1\""
    );
}

#[test]
fn bad_rows_are_errors_and_reading_goes_on() {
    let text = format!(
        "{HEADER}1,0,7,2026-03-02 09:00:00,2026-03-02 08:59:59,2,2,3,180,0,30\n\
2,0,7,2026-03-02 09:00:00,2026-03-02 09:20:00,2,2,-3,180,0,30\n\
3,0,7,2026-03-02 09:00:00,2026-03-02 09:20:00,9,2,3,180,0,30\n\
4,0,7\n\
\n\
5,0,7,2026-03-02 09:00:00,2026-03-02 09:20:00,2,2,3,180,0,30\n"
    );
    let results = read_all(&text);
    assert_eq!(results.len(), 5, "the blank line is skipped");
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(_) => "ok",
            Err(e) => e.error_type(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "end_before_start",
            "negative_value",
            "unknown_code",
            "field_count",
            "ok"
        ]
    );
    let unknown = results[2].as_ref().unwrap_err().to_string();
    assert_eq!(
        unknown,
        "line 4, session 3 seq 0: unknown queue_disposition code 9"
    );
}

#[test]
fn a_line_longer_than_the_limit_is_an_error_not_unbounded_memory() {
    let mut text = HEADER.to_string();
    text.push_str(&"9".repeat(MAX_LINE + 10));
    text.push('\n');
    let mut reader = LegReader::new(text.as_bytes()).unwrap();
    assert!(matches!(
        reader.next(),
        Some(Err(CsvError::LineTooLong { line: 2 }))
    ));
}

#[test]
fn written_rows_read_back() {
    let row = QueueVisitRow {
        session_id: Some(5),
        session_seq: Some(1),
        csq_id: Some(9),
        queue_entry: Some(UtcMillis(1_772_323_200_123)),
        leg_end: Some(UtcMillis(1_772_323_300_000)),
        queue_disposition: Some(1),
        contact_disposition: Some(1),
        queue_time_s: Some(7),
        talk_time_s: None,
        hold_time_s: None,
        work_time_s: None,
    };
    let mut text = visit_header();
    text.push('\n');
    push_visit_row(&mut text, &row);
    let mut reader = LegReader::new(text.as_bytes()).unwrap();
    let (back, line) = reader.next_row().unwrap().unwrap();
    assert_eq!((back, line), (row, 2));
}

#[test]
fn interval_row_has_every_header_column() {
    let mut out = String::new();
    push_interval_row(&mut out, &QueueInterval::default());
    assert_eq!(
        out.trim_end().split(',').count(),
        INTERVAL_HEADER.split(',').count()
    );
    assert!(out.starts_with("0,1970-01-01 00:00:00,15,0,"));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut text = HEADER.as_bytes().to_vec();
        text.extend_from_slice(&body);
        let reader = LegReader::new(text.as_slice()).unwrap();
        for result in reader {
            let _ = result;
        }
    }

    #[test]
    fn arbitrary_fields_never_panic(fields in prop::collection::vec("[-0-9: .\"a]{0,24}", 11)) {
        let text = format!("{HEADER}{}\n", fields.join(","));
        for result in LegReader::new(text.as_bytes()).unwrap() {
            let _ = result;
        }
    }
}
