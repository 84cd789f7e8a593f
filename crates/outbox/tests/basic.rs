//! Behaviour of the outbox API: queue order, checkpoints, acks, dead letters, stats, keys,
//! budget, compaction and its crash points, encryption at rest.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use wfm_outbox::{BatchId, Outbox, OutboxConfig, OutboxError, OutboxKey};

#[test]
fn appended_batches_come_out_oldest_first_per_source_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, report) = open(dir.path());
    assert_eq!(report.truncated_bytes, 0);
    let a1 = outbox.append("uccx", b"a1", b"cp-a1").unwrap();
    let b1 = outbox.append("axl", b"b1", b"cp-b1").unwrap();
    let a2 = outbox.append("uccx", b"a2", b"cp-a2").unwrap();
    assert!(a1 < b1 && b1 < a2);
    assert_eq!(outbox.oldest("uccx").unwrap().payload, b"a1");
    assert_eq!(outbox.oldest("axl").unwrap().id, b1);
    assert_eq!(outbox.checkpoint("uccx").unwrap(), b"cp-a2");
    assert_eq!(outbox.checkpoint("nope"), None);
    drop(outbox);

    let (outbox, report) = open(dir.path());
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(outbox.oldest("uccx").unwrap().payload, b"a1");
    outbox.ack(a1).unwrap();
    outbox.ack(a1).unwrap(); // idempotent
    assert_eq!(outbox.oldest("uccx").unwrap().id, a2);
    let pending: Vec<BatchId> = outbox.pending("uccx", 10).iter().map(|m| m.id).collect();
    assert_eq!(pending, vec![a2]);
    outbox.ack(a2).unwrap();
    assert!(outbox.oldest("uccx").is_none());
    drop(outbox);

    let (outbox, _) = open(dir.path());
    assert!(
        outbox.oldest("uccx").is_none(),
        "acked batches never come back"
    );
    assert_eq!(outbox.checkpoint("uccx").unwrap(), b"cp-a2");
    let next = outbox.append("uccx", b"a3", b"cp-a3").unwrap();
    assert!(next > a2, "ids are never reused");
}

#[test]
fn unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = open(dir.path());
    let err = outbox.ack(BatchId(42)).unwrap_err();
    assert_eq!(err.error_type(), "not_found");
    assert!(!err.is_retriable());
    assert_eq!(
        outbox.record_attempt(BatchId(42)).unwrap_err().error_type(),
        "not_found"
    );
    assert_eq!(
        outbox
            .dead_letter(BatchId(42), "x")
            .unwrap_err()
            .error_type(),
        "not_found"
    );
    assert_eq!(
        outbox.append("", b"x", b"y").unwrap_err().error_type(),
        "invalid"
    );
}

#[test]
fn attempts_dead_letters_replay_and_drop_keep_conservation() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = open(dir.path());
    let a = outbox.append("s", b"a", b"1").unwrap();
    let b = outbox.append("s", b"b", b"2").unwrap();
    let c = outbox.append("s", b"c", b"3").unwrap();
    assert_eq!(outbox.record_attempt(a).unwrap(), 1);
    assert_eq!(outbox.record_attempt(a).unwrap(), 2);
    outbox.dead_letter(a, "rejected: schema").unwrap();
    outbox.dead_letter(a, "again").unwrap(); // idempotent
    assert_eq!(outbox.oldest("s").unwrap().id, b);
    let dead = outbox.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "rejected: schema");
    assert_eq!(dead[0].meta.attempts, 2);
    let s = &outbox.stats().sources["s"];
    assert_eq!((s.received, s.buffered, s.dead_lettered), (3, 2, 1));
    assert_conservation(&outbox);

    outbox.replay(a).unwrap();
    assert_eq!(
        outbox.oldest("s").unwrap().id,
        a,
        "replayed batch keeps its place"
    );
    assert_eq!(outbox.oldest("s").unwrap().attempts, 2);
    outbox.dead_letter(a, "still bad").unwrap();
    assert_eq!(
        outbox.drop_dead(b).unwrap_err().error_type(),
        "invalid",
        "a pending batch cannot be dropped"
    );
    outbox.drop_dead(a).unwrap();
    outbox.ack(b).unwrap();
    drop(outbox);

    let (outbox, _) = open(dir.path());
    let s = outbox.stats().sources["s"].clone();
    assert_eq!(
        (
            s.received,
            s.delivered,
            s.buffered,
            s.dead_lettered,
            s.dead_dropped
        ),
        (3, 1, 1, 1, 1)
    );
    assert_eq!(outbox.oldest("s").unwrap().id, c);
    assert!(outbox.dead_letters().is_empty());
    assert_conservation(&outbox);
}

#[test]
fn oldest_pending_age_follows_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let mut cfg = config(dir.path());
    cfg.clock = Arc::new(clock.clone());
    let (outbox, _) = Outbox::open(cfg).unwrap();
    let a = outbox.append("s", b"a", b"1").unwrap();
    clock.advance(Duration::from_secs(30));
    outbox.append("s", b"b", b"2").unwrap();
    clock.advance(Duration::from_secs(15));
    let age = outbox.stats().sources["s"].oldest_pending_age;
    assert_eq!(age, Some(Duration::from_secs(45)));
    outbox.ack(a).unwrap();
    let age = outbox.stats().sources["s"].oldest_pending_age;
    assert_eq!(age, Some(Duration::from_secs(15)));
}

#[test]
fn no_plaintext_payload_checkpoint_or_source_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = open(dir.path());
    let id = outbox
        .append(
            "secret-source-name",
            b"PAYLOAD-agent-jane.doe@example.com",
            b"CHECKPOINT-cursor-123456",
        )
        .unwrap();
    outbox.record_attempt(id).unwrap();
    outbox.dead_letter(id, "REASON-text-zzz").unwrap();
    outbox.compact().unwrap();
    drop(outbox);
    let needles: [&[u8]; 4] = [
        b"jane.doe",
        b"CHECKPOINT-cursor",
        b"secret-source",
        b"REASON-text",
    ];
    let mut scanned = 0;
    for path in segments(dir.path()) {
        let raw = std::fs::read(&path).unwrap();
        scanned += raw.len();
        for needle in needles {
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle),
                "plaintext {:?} found in {}",
                String::from_utf8_lossy(needle),
                path.display()
            );
        }
    }
    assert!(scanned > 0);
}

#[test]
fn full_when_over_budget_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_bytes = 8 * 1024;
    cfg.clock = Arc::new(FakeClock::new());
    let (outbox, _) = Outbox::open(cfg).unwrap();
    let payload = vec![1u8; 1000];
    let mut appended = 0;
    let err = loop {
        match outbox.append("s", &payload, b"cp") {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
    };
    assert!(appended >= 5);
    assert_eq!(err.error_type(), "full");
    assert!(err.is_retriable());
    let before: Vec<u64> = segments(dir.path())
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .collect();
    let stats = outbox.stats();
    assert!(outbox.append("s", &payload, b"cp2").is_err());
    let after: Vec<u64> = segments(dir.path())
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .collect();
    assert_eq!(before, after, "a refused append writes nothing");
    assert_eq!(outbox.stats(), stats);
    assert_eq!(outbox.checkpoint("s").unwrap(), b"cp");

    // delivering frees the budget (compaction runs inside append)
    while let Some(batch) = outbox.oldest("s") {
        outbox.ack(batch.id).unwrap();
    }
    outbox.append("s", &payload, b"cp3").unwrap();
    assert!(outbox.stats().disk_bytes <= 8 * 1024);
}

#[test]
fn segments_roll_and_compaction_deletes_delivered_ones_keeping_checkpoints_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 4 * 1024;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    let mut ids = Vec::new();
    for i in 0..40u32 {
        ids.push(
            outbox
                .append("s", &[i as u8; 500], &i.to_le_bytes())
                .unwrap(),
        );
    }
    let dead = outbox.append("t", b"poison", b"t-cp").unwrap();
    outbox.dead_letter(dead, "bad").unwrap();
    assert!(segments(dir.path()).len() >= 5);
    for id in &ids[..39] {
        outbox.ack(*id).unwrap();
    }
    outbox.compact().unwrap();
    let left = segments(dir.path()).len();
    assert!(left <= 3, "{left} segments left");
    drop(outbox);

    let (outbox, _) = Outbox::open(cfg).unwrap();
    assert_eq!(outbox.checkpoint("s").unwrap(), 39u32.to_le_bytes());
    assert_eq!(outbox.checkpoint("t").unwrap(), b"t-cp");
    assert_eq!(outbox.oldest("s").unwrap().id, ids[39]);
    assert_eq!(outbox.oldest("s").unwrap().payload, vec![39u8; 500]);
    let s = &outbox.stats().sources["s"];
    assert_eq!((s.received, s.delivered, s.buffered), (40, 39, 1));
    assert_eq!(outbox.dead_letters()[0].meta.id, dead);
    outbox.replay(dead).unwrap();
    assert_eq!(outbox.oldest("t").unwrap().payload, b"poison");
    assert_conservation(&outbox);
}

#[test]
fn compaction_crash_at_every_step_reopens_to_the_same_state() {
    for step in 1..=3u8 {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.segment_bytes = 2048;
        let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
        let mut ids = Vec::new();
        for i in 0..20u8 {
            ids.push(outbox.append("s", &[i; 300], &[i]).unwrap());
        }
        for id in &ids[..15] {
            outbox.ack(*id).unwrap();
        }
        outbox.dead_letter(ids[15], "dead").unwrap();
        let expected_stats = outbox.stats().sources;
        let _ = outbox.debug_compact_crash(step);
        assert!(
            outbox.append("s", b"x", b"y").is_err(),
            "refuses after a crash"
        );
        drop(outbox);

        let (outbox, report) = Outbox::open(cfg.clone()).unwrap();
        assert_eq!(
            report.removed_temp_files,
            usize::from(step == 1),
            "step {step}"
        );
        let mut stats = outbox.stats().sources;
        for s in stats.values_mut() {
            s.bytes = 0;
            s.oldest_pending_age = None;
        }
        let mut expected = expected_stats.clone();
        for s in expected.values_mut() {
            s.bytes = 0;
            s.oldest_pending_age = None;
        }
        assert_eq!(stats, expected, "step {step}");
        assert_eq!(outbox.checkpoint("s").unwrap(), [19u8], "step {step}");
        assert_eq!(outbox.oldest("s").unwrap().id, ids[16], "step {step}");
        assert_eq!(outbox.dead_letters()[0].meta.id, ids[15], "step {step}");
        // and a full compaction afterwards still works
        outbox.compact().unwrap();
        drop(outbox);
        let (outbox, _) = Outbox::open(cfg).unwrap();
        assert_eq!(outbox.oldest("s").unwrap().id, ids[16], "step {step}");
        assert_eq!(outbox.dead_letters()[0].meta.id, ids[15]);
        assert_conservation(&outbox);
    }
}

#[test]
fn keys_load_from_hex_file_and_env_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let from_hex = OutboxKey::from_hex(hex).unwrap();
    let hex_file = dir.path().join("key.hex");
    std::fs::write(&hex_file, format!("{hex}\n")).unwrap();
    let raw_file = dir.path().join("key.bin");
    std::fs::write(&raw_file, [9u8; 32]).unwrap();
    OutboxKey::from_file(&hex_file).unwrap();
    OutboxKey::from_file(&raw_file).unwrap();
    assert_eq!(
        OutboxKey::from_hex("abcd").unwrap_err().error_type(),
        "invalid"
    );
    assert!(OutboxKey::from_env("WFM_OUTBOX_TEST_KEY_NOT_SET").is_err());
    let printed = format!(
        "{from_hex:?} {:?}",
        OutboxConfig::new(dir.path(), from_hex.clone())
    );
    assert!(
        !printed.contains("0011") && !printed.contains("[0, 17"),
        "{printed}"
    );
    assert!(printed.contains("redacted"));
}

#[test]
fn key_exhaustion_refuses_appends_but_lets_the_backlog_drain() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.encryption_limit = 128;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    let mut ids = Vec::new();
    let err = loop {
        match outbox.append("s", b"x", b"c") {
            Ok(id) => ids.push(id),
            Err(e) => break e,
        }
    };
    assert_eq!(err.error_type(), "key_exhausted");
    assert!(err.to_string().contains("rotate"), "{err}");
    assert!(ids.len() > 100);
    drop(outbox);
    let (outbox, _) = Outbox::open(cfg).unwrap();
    assert_eq!(
        outbox.append("s", b"x", b"c").unwrap_err().error_type(),
        "key_exhausted",
        "the count survives a restart"
    );
    outbox.ack(ids[0]).unwrap();
    assert_eq!(outbox.stats().sources["s"].delivered, 1);
}

#[test]
fn errors_have_bounded_labels() {
    let full = OutboxError::Full {
        used: 1,
        needed: 2,
        max: 2,
    };
    assert_eq!(full.error_type(), "full");
    assert!(full.is_retriable());
    let corrupt = OutboxError::Corrupt {
        file: "f".into(),
        offset: 3,
        detail: "x".into(),
    };
    assert_eq!(corrupt.error_type(), "corrupt");
    assert!(!corrupt.is_retriable());
}

#[test]
fn outbox_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Outbox>();
}
