//! The directory lock (one process at a time) and the per-source last delivery time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use wfm_outbox::{Outbox, OutboxError};

#[test]
fn a_second_opener_of_a_directory_in_use_gets_a_clear_error_naming_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = open(dir.path());
    let id = first.append("s", b"a", b"1").unwrap();

    let Err(err) = Outbox::open(config(dir.path())) else {
        panic!("a second open of a locked outbox succeeded");
    };
    let OutboxError::Locked { pid, .. } = &err else {
        panic!("expected Locked, got {err:?}");
    };
    assert_eq!(*pid, Some(std::process::id()));
    let text = err.to_string();
    assert!(text.contains("is in use by another process"), "{text}");
    assert!(
        text.contains(&format!("(pid {})", std::process::id())),
        "{text}"
    );
    assert!(text.contains("stop that importer first"), "{text}");
    assert_eq!(err.error_type(), "locked");
    assert!(!err.is_retriable());
    // the refused opener changed nothing
    assert_eq!(first.oldest("s").unwrap().id, id);
    let pid_text = std::fs::read_to_string(dir.path().join("LOCK")).unwrap();
    assert_eq!(pid_text, std::process::id().to_string());

    drop(first);
    let (second, _) = open(dir.path());
    assert_eq!(second.oldest("s").unwrap().id, id, "reopens once released");
}

#[test]
fn a_stale_lock_file_left_by_a_dead_process_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("LOCK"), "999999").unwrap();
    let (outbox, _) = open(dir.path());
    outbox.append("s", b"a", b"1").unwrap();
    let pid_text = std::fs::read_to_string(dir.path().join("LOCK")).unwrap();
    assert_eq!(pid_text, std::process::id().to_string());
}

#[test]
fn last_delivered_time_is_per_source_and_survives_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let mut cfg = config(dir.path());
    cfg.clock = Arc::new(clock.clone());
    cfg.segment_bytes = 2048;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    let a = outbox.append("a", b"x", b"1").unwrap();
    outbox.append("b", b"y", b"1").unwrap();
    assert_eq!(outbox.stats().sources["a"].last_delivered, None);
    clock.advance(Duration::from_secs(10));
    let acked_at = clock.now_value();
    outbox.ack(a).unwrap();
    clock.advance(Duration::from_secs(5));
    let stats = outbox.stats();
    assert_eq!(stats.sources["a"].last_delivered, Some(acked_at));
    assert_eq!(stats.sources["b"].last_delivered, None);
    drop(outbox);

    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    assert_eq!(outbox.stats().sources["a"].last_delivered, Some(acked_at));
    // roll many segments so that the ack record itself is compacted away
    for i in 0..40u8 {
        let id = outbox.append("c", &[i; 200], &[i]).unwrap();
        outbox.ack(id).unwrap();
    }
    outbox.compact().unwrap();
    drop(outbox);
    let (outbox, _) = Outbox::open(cfg).unwrap();
    assert_eq!(outbox.stats().sources["a"].last_delivered, Some(acked_at));
    assert!(outbox.stats().segments >= 1);
}

#[test]
fn stats_report_the_budget_the_key_bound_and_whether_appends_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_bytes = 4096;
    cfg.segment_bytes = 4096;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    let stats = outbox.stats();
    assert_eq!(stats.max_bytes, 4096);
    assert_eq!(stats.encryption_limit, cfg.encryption_limit);
    assert!(!stats.full);
    let mut ids = Vec::new();
    loop {
        match outbox.append("s", &[1u8; 500], b"cp") {
            Ok(id) => ids.push(id),
            Err(OutboxError::Full { .. }) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(outbox.stats().full, "full while appends are refused");
    for id in ids {
        outbox.ack(id).unwrap();
    }
    outbox.append("s", b"small", b"cp").unwrap();
    assert!(!outbox.stats().full, "cleared by a successful append");
}
