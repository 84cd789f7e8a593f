//! Emulators of the Cisco UCCX Admin REST API and the CUCM AXL SOAP API.
//!
//! This crate owns: a generated contact-centre data set ([`dataset`]), an HTTP(S) emulator of
//! `GET /adminapi/...` ([`uccx`]), an emulator of `POST /axl/` `executeSQLQuery` ([`axl`]),
//! runtime fault injection ([`faults`]), request recording ([`record`]) and self-signed TLS
//! ([`tls`]). Both emulators serve one [`SharedData`], so a test can mutate the ground truth
//! between two requests and the next request sees the change.
//!
//! Cloud directories over the same data: Webex Contact Center ([`webex`]), Zoom ([`zoom`]) and
//! Microsoft Graph ([`graph`]), sharing OAuth client credentials and bearer checks ([`oauth`])
//! and paging with its fault modes ([`paging`]).
//!
//! The emulators are written only from the reference documentation of the wire formats. This
//! crate must never depend on `wfm-sources` (or any importer parser): a parser and its emulator
//! must not share one misunderstanding.

pub mod axl;
pub mod cti;
pub mod dataset;
pub mod faults;
pub mod finesse;
pub mod graph;
pub mod oauth;
pub mod paging;
pub mod record;
mod server;
pub mod tls;
pub mod ucce;
pub mod uccx;
pub mod webex;
pub mod zoom;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use dataset::{generate, ContactCentre, DatasetSpec, EndUser, Resource, Team};
pub use faults::{ApiErrorSpec, Fault, FaultPlan};
pub use record::RecordedRequest;
pub use server::EmulatorHandle;

/// The contact centre shared by every emulator of one test: clone it to share.
#[derive(Clone, Debug, Default)]
pub struct SharedData(Arc<RwLock<ContactCentre>>);

impl SharedData {
    /// Wraps a generated (or hand-made) contact centre.
    pub fn new(cc: ContactCentre) -> Self {
        SharedData(Arc::new(RwLock::new(cc)))
    }

    /// Generates a contact centre from `spec` and wraps it.
    pub fn generate(spec: &DatasetSpec) -> Self {
        Self::new(generate(spec))
    }

    /// Read access to the ground truth (a poisoned lock is recovered, never a panic).
    pub fn read(&self) -> RwLockReadGuard<'_, ContactCentre> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access: mutate the data between requests (rename, remove, move, delete e-mail).
    pub fn write(&self) -> RwLockWriteGuard<'_, ContactCentre> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A clone of the current state.
    pub fn snapshot(&self) -> ContactCentre {
        self.read().clone()
    }
}
