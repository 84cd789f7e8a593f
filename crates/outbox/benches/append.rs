//! Append throughput: appends/s and MB/s for 1 KiB and 64 KiB payloads, fsync `Always` vs
//! `EveryN(64)`. Run with `cargo bench -p wfm-outbox --bench append`; each case runs for
//! `OUTBOX_BENCH_SECS` seconds (default 3) in a temp dir under `OUTBOX_BENCH_DIR` (default the
//! system temp dir, which should be on the same kind of disk as the real outbox).

use std::time::{Duration, Instant};

use wfm_outbox::{FsyncPolicy, Outbox, OutboxConfig, OutboxKey};

fn main() {
    let secs: f64 = std::env::var("OUTBOX_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let base = std::env::var("OUTBOX_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    println!(
        "outbox append benchmark ({secs} s per case, dir {})",
        base.display()
    );
    println!(
        "{:<10} {:<12} {:>10} {:>12} {:>10} {:>14}",
        "payload", "fsync", "appends", "appends/s", "MB/s", "ack+oldest/s"
    );
    for payload_len in [1024usize, 64 * 1024] {
        for (name, policy) in [
            ("Always", FsyncPolicy::Always),
            ("EveryN(64)", FsyncPolicy::EveryN(64)),
        ] {
            run_case(
                &base,
                payload_len,
                name,
                policy,
                Duration::from_secs_f64(secs),
            );
        }
    }
}

fn run_case(
    base: &std::path::Path,
    payload_len: usize,
    name: &str,
    policy: FsyncPolicy,
    time: Duration,
) {
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let mut cfg = OutboxConfig::new(dir.path(), OutboxKey::from_bytes([3u8; 32]));
    cfg.fsync = policy;
    cfg.max_bytes = 64 * 1024 * 1024 * 1024;
    let (outbox, _) = Outbox::open(cfg).expect("open");
    let payload = vec![0xabu8; payload_len];
    let checkpoint = [0u8; 32];
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < time {
        outbox
            .append("bench", &payload, &checkpoint)
            .expect("append");
        count += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = count as f64 / elapsed;
    let mbps = rate * payload_len as f64 / 1_000_000.0;

    // drain: read the oldest and ack it, as the delivery loop does
    let drain_start = Instant::now();
    let mut drained = 0u64;
    while drain_start.elapsed() < time {
        let Some(batch) = outbox.oldest("bench") else {
            break;
        };
        outbox.ack(batch.id).expect("ack");
        drained += 1;
    }
    let drain_rate = drained as f64 / drain_start.elapsed().as_secs_f64();
    println!(
        "{:<10} {:<12} {:>10} {:>12.0} {:>10.1} {:>14.0}",
        format!("{} KiB", payload_len / 1024),
        name,
        count,
        rate,
        mbps,
        drain_rate
    );
}
