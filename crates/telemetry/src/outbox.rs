//! The importer's outbox metrics: conservation counters, depth and freshness gauges, disk
//! budget. Updated from the outbox's own persisted counters (see `wfm-importer`'s
//! `outbox_metrics`), so they continue across restarts.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::metrics::SourceLabels;

/// Name of the counter of batches appended, per outbox source (`_total` added on exposition).
pub const OUTBOX_RECEIVED: &str = "wfm_importer_outbox_batches_received";
/// Name of the counter of batches acked by the hub (accepted or already had).
pub const OUTBOX_DELIVERED: &str = "wfm_importer_outbox_batches_delivered";
/// Name of the counter of batches dead-lettered (kept and dropped).
pub const OUTBOX_DEAD_LETTERED: &str = "wfm_importer_outbox_batches_dead_lettered";
/// Name of the gauge of batches pending delivery.
pub const OUTBOX_BUFFERED: &str = "wfm_importer_outbox_buffered_batches";
/// Name of the gauge of the age of the oldest pending batch.
pub const OUTBOX_OLDEST_PENDING_AGE: &str = "wfm_importer_outbox_oldest_pending_age_seconds";
/// Name of the gauge of the Unix time of the last delivery.
pub const OUTBOX_LAST_DELIVERED: &str = "wfm_importer_outbox_last_delivered_timestamp_seconds";
/// Name of the gauge of the outbox's bytes on disk.
pub const OUTBOX_BYTES: &str = "wfm_importer_outbox_bytes";
/// Name of the gauge of the outbox's disk budget.
pub const OUTBOX_MAX_BYTES: &str = "wfm_importer_outbox_max_bytes";
/// Name of the gauge that is 1 while appends are refused (budget full or key exhausted).
pub const OUTBOX_FULL: &str = "wfm_importer_outbox_full";

/// Outbox metrics. Conservation per source:
/// `received_total = delivered_total + buffered_batches + dead_lettered_total`.
#[derive(Clone, Default)]
pub struct OutboxMetrics {
    /// `wfm_importer_outbox_batches_received_total{source}`.
    pub received: Family<SourceLabels, Counter>,
    /// `wfm_importer_outbox_batches_delivered_total{source}`.
    pub delivered: Family<SourceLabels, Counter>,
    /// `wfm_importer_outbox_batches_dead_lettered_total{source}`.
    pub dead_lettered: Family<SourceLabels, Counter>,
    /// `wfm_importer_outbox_buffered_batches{source}`.
    pub buffered: Family<SourceLabels, Gauge>,
    /// `wfm_importer_outbox_oldest_pending_age_seconds{source}` (0 when nothing is pending).
    pub oldest_pending_age: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    /// `wfm_importer_outbox_last_delivered_timestamp_seconds{source}` (absent before the first
    /// delivery of the source).
    pub last_delivered: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    /// `wfm_importer_outbox_bytes`: bytes of all segment files.
    pub bytes: Gauge,
    /// `wfm_importer_outbox_max_bytes`: the configured disk budget.
    pub max_bytes: Gauge,
    /// `wfm_importer_outbox_full`: 1 while appends are refused, else 0.
    pub full: Gauge,
}

impl OutboxMetrics {
    /// Registers every outbox metric in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            OUTBOX_RECEIVED,
            "Batches appended to the outbox, per source",
            self.received.clone(),
        );
        r.register(
            OUTBOX_DELIVERED,
            "Outbox batches delivered to the hub (accepted or already had), per source",
            self.delivered.clone(),
        );
        r.register(
            OUTBOX_DEAD_LETTERED,
            "Outbox batches dead-lettered (rejected permanently; kept or dropped), per source",
            self.dead_lettered.clone(),
        );
        r.register(
            OUTBOX_BUFFERED,
            "Outbox batches pending delivery, per source",
            self.buffered.clone(),
        );
        r.register(
            OUTBOX_OLDEST_PENDING_AGE,
            "Age of the oldest pending outbox batch, per source (0 when none)",
            self.oldest_pending_age.clone(),
        );
        r.register(
            OUTBOX_LAST_DELIVERED,
            "Unix time of the last outbox batch delivered, per source",
            self.last_delivered.clone(),
        );
        r.register(
            OUTBOX_BYTES,
            "Bytes of the outbox segment files",
            self.bytes.clone(),
        );
        r.register(
            OUTBOX_MAX_BYTES,
            "Disk budget of the outbox",
            self.max_bytes.clone(),
        );
        r.register(
            OUTBOX_FULL,
            "1 while the outbox refuses appends (disk budget full or key exhausted)",
            self.full.clone(),
        );
    }

    /// Raises a counter to an absolute value read from the outbox (counters never go down;
    /// a lower value is ignored).
    pub fn raise_to(counter: &Counter, value: u64) {
        let now = counter.get();
        if value > now {
            counter.inc_by(value - now);
        }
    }
}
