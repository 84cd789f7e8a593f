//! Appends from several threads and acks from another, then a reopen: consistent.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use wfm_outbox::Outbox;

#[test]
fn concurrent_appends_and_acks_then_reopen_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 16 * 1024; // rolls and compactions happen under contention too
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    let outbox = Arc::new(outbox);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let done = Arc::new(AtomicBool::new(false));
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 60;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let outbox = Arc::clone(&outbox);
            std::thread::spawn(move || {
                let source = format!("src{w}");
                let mut ids = Vec::new();
                for i in 0..PER_WRITER {
                    let payload = format!("{source}-{i}").into_bytes();
                    let cp = (i as u32).to_le_bytes();
                    ids.push(outbox.append(&source, &payload, &cp).unwrap());
                }
                ids
            })
        })
        .collect();
    let acker = {
        let outbox = Arc::clone(&outbox);
        let acked = Arc::clone(&acked);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut round = 0u32;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let mut any = false;
                for w in 0..WRITERS {
                    if let Some(batch) = outbox.oldest(&format!("src{w}")) {
                        outbox.record_attempt(batch.id).unwrap();
                        outbox.ack(batch.id).unwrap();
                        acked.lock().unwrap().insert(batch.id);
                        any = true;
                    }
                }
                round += 1;
                if round.is_multiple_of(25) {
                    outbox.compact().unwrap();
                }
                if finished && !any {
                    break;
                }
                if !any {
                    std::thread::yield_now();
                }
                if finished && acked.lock().unwrap().len() >= WRITERS * PER_WRITER / 2 {
                    break; // leave the rest pending for the reopen check
                }
            }
        })
    };
    let mut appended = BTreeSet::new();
    for (w, handle) in writers.into_iter().enumerate() {
        let ids = handle.join().unwrap();
        assert!(
            ids.windows(2).all(|p| p[0] < p[1]),
            "writer {w}: ids increase"
        );
        appended.extend(ids);
    }
    done.store(true, Ordering::SeqCst);
    acker.join().unwrap();
    assert_eq!(appended.len(), WRITERS * PER_WRITER, "ids are unique");
    let acked = acked.lock().unwrap().clone();
    let stats_before = outbox.stats();
    drop(outbox);

    let (outbox, report) = Outbox::open(cfg).unwrap();
    assert_eq!(report.truncated_bytes, 0);
    let mut pending = BTreeSet::new();
    for w in 0..WRITERS {
        let source = format!("src{w}");
        let metas = outbox.pending(&source, usize::MAX);
        for meta in &metas {
            assert!(!acked.contains(&meta.id), "an acked batch came back");
            pending.insert(meta.id);
        }
        // per source, the pending ones are the newest: acks went oldest first
        assert_eq!(
            outbox.checkpoint(&source).unwrap(),
            ((PER_WRITER - 1) as u32).to_le_bytes()
        );
        if let Some(first) = metas.first() {
            let batch = outbox.oldest(&source).unwrap();
            assert_eq!(batch.id, first.id);
            assert!(batch.payload.starts_with(source.as_bytes()));
        }
        let s = &outbox.stats().sources[&source];
        let before = &stats_before.sources[&source];
        assert_eq!(
            (s.received, s.delivered, s.buffered),
            (before.received, before.delivered, before.buffered)
        );
        assert_eq!(s.received, PER_WRITER as u64);
    }
    let all: BTreeSet<_> = acked.union(&pending).copied().collect();
    assert_eq!(
        all, appended,
        "every batch is either acked or still pending"
    );
    assert_conservation(&outbox);
}
