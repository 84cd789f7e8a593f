//! The importer runtime: builds source and hub clients from the config, maps UCCX + CUCM data
//! into directory snapshots, sends them to the hub, and reports.
//!
//! This crate wires sources, mapping and the hub client together; it must not contain protocol
//! decoders (those live in `wfm-sources`) or diff logic (that lives in `wfm-sync`, run at the hub).

pub mod bulk;
pub mod check;
pub mod delivery;
pub mod error;
pub mod history;
pub mod hub_client;
pub mod job;
pub mod live;
pub mod mapping;
pub mod outbox_cmd;
pub mod outbox_metrics;
pub mod reason_codes;
pub mod report;
pub mod runtime;
pub mod sources;

pub use error::{HubError, ImporterError};
pub use job::{SyncJob, SyncOptions, SyncReport};
