//! The outbox's conservation, depth and freshness metrics (`wfm_importer_outbox_*`, named in
//! `wfm-telemetry`), refreshed from [`Outbox::stats`] every few seconds while the importer runs.
//!
//! This module only copies the outbox's own (persisted) counters into the metrics; it must
//! not count anything itself, so that the exposed figures and `wfm-importer outbox status`
//! always agree.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wfm_outbox::{Outbox, OutboxStats};
use wfm_telemetry::metrics::SourceLabels;
use wfm_telemetry::{Metrics, OutboxMetrics};

/// How often [`spawn`] refreshes the metrics by default.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Copies one `stats` value into the outbox metrics.
pub fn update(metrics: &Metrics, stats: &OutboxStats) {
    let m = &metrics.outbox;
    for (name, s) in &stats.sources {
        let labels = SourceLabels {
            source: name.clone(),
        };
        OutboxMetrics::raise_to(&m.received.get_or_create(&labels), s.received);
        OutboxMetrics::raise_to(&m.delivered.get_or_create(&labels), s.delivered);
        OutboxMetrics::raise_to(&m.dead_lettered.get_or_create(&labels), s.dead_lettered);
        m.buffered
            .get_or_create(&labels)
            .set(i64::try_from(s.buffered).unwrap_or(i64::MAX));
        let age = s.oldest_pending_age.unwrap_or_default().as_secs_f64();
        m.oldest_pending_age.get_or_create(&labels).set(age);
        if let Some(at) = s.last_delivered {
            m.last_delivered
                .get_or_create(&labels)
                .set(unix_seconds(at));
        }
    }
    m.bytes
        .set(i64::try_from(stats.disk_bytes).unwrap_or(i64::MAX));
    m.max_bytes
        .set(i64::try_from(stats.max_bytes).unwrap_or(i64::MAX));
    m.full.set(i64::from(stats.full));
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Refreshes the outbox metrics now and then every `every` until `stop` turns true (or its
/// sender is dropped). `Outbox::stats` takes the outbox lock, so it runs on the blocking pool.
pub fn spawn(
    metrics: Metrics,
    outbox: Arc<Outbox>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let source = outbox.clone();
            match tokio::task::spawn_blocking(move || source.stats()).await {
                Ok(stats) => update(&metrics, &stats),
                Err(e) => tracing::warn!(error = %e, "outbox metrics: stats task failed"),
            }
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wfm_outbox::SourceStats;

    fn stats(received: u64, delivered: u64, buffered: u64, dead: u64) -> OutboxStats {
        let mut stats = OutboxStats {
            disk_bytes: 4096,
            max_bytes: 1 << 20,
            full: true,
            ..OutboxStats::default()
        };
        stats.sources.insert(
            "users:a".into(),
            SourceStats {
                received,
                delivered,
                buffered,
                dead_lettered: dead,
                oldest_pending_age: Some(Duration::from_secs(42)),
                last_delivered: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                ..SourceStats::default()
            },
        );
        stats.sources.insert(
            "live-1".into(),
            SourceStats {
                received: 1,
                buffered: 1,
                ..SourceStats::default()
            },
        );
        stats
    }

    #[test]
    fn update_copies_counters_gauges_and_freshness_from_stats() {
        let metrics = Metrics::new();
        update(&metrics, &stats(10, 6, 3, 1));
        let text = metrics.encode();
        for line in [
            "wfm_importer_outbox_batches_received_total{source=\"users:a\"} 10",
            "wfm_importer_outbox_batches_delivered_total{source=\"users:a\"} 6",
            "wfm_importer_outbox_batches_dead_lettered_total{source=\"users:a\"} 1",
            "wfm_importer_outbox_buffered_batches{source=\"users:a\"} 3",
            "wfm_importer_outbox_oldest_pending_age_seconds{source=\"users:a\"} 42.0",
            "wfm_importer_outbox_last_delivered_timestamp_seconds{source=\"users:a\"} 1700000000.0",
            "wfm_importer_outbox_oldest_pending_age_seconds{source=\"live-1\"} 0.0",
            "wfm_importer_outbox_bytes 4096",
            "wfm_importer_outbox_max_bytes 1048576",
            "wfm_importer_outbox_full 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains(
                "wfm_importer_outbox_last_delivered_timestamp_seconds{source=\"live-1\"}"
            ),
            "no freshness before a first delivery:\n{text}"
        );
        assert!(text.contains("# TYPE wfm_importer_outbox_batches_received counter"));

        // counters follow the absolute values up, never down
        update(&metrics, &stats(12, 9, 2, 1));
        let text = metrics.encode();
        assert!(text.contains("wfm_importer_outbox_batches_received_total{source=\"users:a\"} 12"));
        assert!(text.contains("wfm_importer_outbox_batches_delivered_total{source=\"users:a\"} 9"));
        assert!(text.contains("wfm_importer_outbox_buffered_batches{source=\"users:a\"} 2"));
        update(&metrics, &stats(5, 1, 0, 0));
        let text = metrics.encode();
        assert!(text.contains("wfm_importer_outbox_batches_received_total{source=\"users:a\"} 12"));
    }

    #[tokio::test]
    async fn the_refresh_task_exports_a_real_outbox_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let cfg =
            wfm_outbox::OutboxConfig::new(dir.path(), wfm_outbox::OutboxKey::from_bytes([3u8; 32]));
        let outbox = Arc::new(Outbox::open(cfg).unwrap().0);
        let a = outbox.append("states:h", b"x", b"1").unwrap();
        outbox.append("states:h", b"y", b"2").unwrap();
        outbox.ack(a).unwrap();
        let metrics = Metrics::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = spawn(metrics.clone(), outbox, Duration::from_millis(10), stop_rx);
        let mut text = String::new();
        for _ in 0..500 {
            text = metrics.encode();
            if text.contains("wfm_importer_outbox_batches_delivered_total{source=\"states:h\"} 1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            text.contains("wfm_importer_outbox_batches_received_total{source=\"states:h\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("wfm_importer_outbox_buffered_batches{source=\"states:h\"} 1"),
            "{text}"
        );
        assert!(text.contains("wfm_importer_outbox_full 0"), "{text}");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
