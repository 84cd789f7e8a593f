//! Why a batch could not be appended or was not delivered.

use std::path::PathBuf;

use wfm_outbox::{BatchId, OutboxError};

/// Why a batch could not be appended or was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The settings cannot work (hub URL, outbox key).
    #[error("delivery configuration: {0}")]
    Config(String),
    /// The outbox could not be opened or written.
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    /// The outbox reached its disk budget: nothing more is pulled until batches are delivered.
    #[error("the outbox at {dir} is full ({used_mib} MiB of its {max_mib} MiB budget, `[outbox] max_mib`); pulling stops until the hub has taken batches (buffered data is kept); raise `[outbox] max_mib` if the hub is reachable and this repeats")]
    Full {
        /// The outbox directory.
        dir: PathBuf,
        /// MiB in use.
        used_mib: u64,
        /// The budget in MiB.
        max_mib: u64,
    },
    /// The hub stayed unreachable (or kept failing) past the wait budget.
    #[error("the hub did not take the batches ({last_error}); {pending} batch(es) kept in the outbox at {dir}; they are delivered by the next run / `wfm-importer run`")]
    Undelivered {
        /// Batches of the source still pending.
        pending: usize,
        /// The outbox directory.
        dir: PathBuf,
        /// The last failure.
        last_error: String,
    },
    /// The hub rejected the batch for good; it is in the dead-letter store.
    #[error("the hub rejected batch {id} for good ({reason}); it is kept as a dead letter (`wfm-importer outbox list`, `outbox replay {id}` after the cause is fixed)")]
    DeadLettered {
        /// The batch.
        id: BatchId,
        /// Why.
        reason: String,
    },
    /// A blocking outbox task failed.
    #[error("outbox task failed: {0}")]
    Task(String),
}

impl DeliveryError {
    /// Whether trying again later may help without anyone changing anything.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            DeliveryError::Full { .. } | DeliveryError::Undelivered { .. }
        )
    }

    /// A bounded label for metrics and logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            DeliveryError::Config(_) => "config",
            DeliveryError::Outbox(_) => "outbox",
            DeliveryError::Full { .. } => "outbox_full",
            DeliveryError::Undelivered { .. } => "undelivered",
            DeliveryError::DeadLettered { .. } => "dead_letter",
            DeliveryError::Task(_) => "task",
        }
    }
}
