//! Encryption at rest, the store's side: each project's data keys (wrapped by a key-encryption
//! key that is never stored here) in the `encryption_keys` table, the reservation of encryptions
//! against the per-key bound, data-key rotation, KEK re-wrap, key status, and the sealing of one
//! field value bound to its place (project, table, column, row) plus keyed blind indexes for
//! equality lookups on sealed fields.
//!
//! The cryptography itself is `wfm_crypto`'s; this module decides how keys are stored and how a
//! sealed value looks in a text column: `enc1:` followed by the standard base64 of a
//! `wfm_crypto` blob. A value without that prefix is plaintext written before encryption was
//! switched on and is returned as it is, so old rows stay readable.
//!
//! Encryption bound: a [`ProjectCrypto`] may only encrypt what it reserved with
//! [`crate::Store::reserve_encryptions`], which adds the reservation to the active key's stored counter
//! *before* any encryption (optimistic concurrency on a version column, so hub replicas sharing
//! one database never reuse a count) and rotates to a fresh data key when the active one would
//! pass the bound. The counter therefore never under-counts, across restarts and replicas.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wfm_crypto::{CryptoError, DataKey, DataKeyId, ProjectKeys};

use crate::error::StoreError;

/// Prefix of a sealed value in a text column (version 1 of the store's sealing).
pub const SEALED_PREFIX: &str = "enc1:";

/// Prefix of a blind index value (HMAC-SHA-256, hex).
pub const BLIND_INDEX_PREFIX: &str = "bi1:";

mod at_rest;
mod keys;

pub use at_rest::AtRest;
pub(crate) use at_rest::Fields;

/// One project's unwrapped keys, in memory only: seals and opens field values and computes blind
/// indexes. Obtained from [`crate::Store::project_crypto`]; may encrypt only what it has reserved with
/// [`crate::Store::reserve_encryptions`]. Thread-safe (`&self`) for sealing and opening.
pub struct ProjectCrypto {
    project: String,
    keys: ProjectKeys,
    index_key: DataKey,
    allowance: AtomicU64,
    limit: u64,
}

impl std::fmt::Debug for ProjectCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectCrypto")
            .field("project", &self.project)
            .field("active", self.keys.active_key_id())
            .field("allowance", &self.allowance())
            .field("limit", &self.limit)
            .finish()
    }
}

/// The AES-GCM associated data of a sealed field: a domain label and the field's place, each
/// length-prefixed, so a sealed value copied to another project, table, column or row fails.
fn field_aad(project: &str, table: &str, column: &str, row: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + project.len() + table.len() + column.len() + row.len());
    aad.extend_from_slice(b"wfm-store/field/v1");
    for part in [project, table, column, row] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

pub(crate) fn crypto_error(what: &str, err: CryptoError) -> StoreError {
    StoreError::Encryption(format!("{what}: {err}"))
}

impl ProjectCrypto {
    /// The project these keys belong to.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The id of the data key new values are sealed with.
    pub fn active_key_id(&self) -> &DataKeyId {
        self.keys.active_key_id()
    }

    /// Encryptions still reserved (see [`crate::Store::reserve_encryptions`]).
    pub fn allowance(&self) -> u64 {
        self.allowance.load(Ordering::SeqCst)
    }

    /// True when `stored` is a sealed value (else it is legacy plaintext).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    fn take_one(&self) -> Result<(), StoreError> {
        let mut current = self.allowance.load(Ordering::SeqCst);
        loop {
            if current == 0 {
                return Err(StoreError::Encryption(format!(
                    "no encryption reserved for project '{}': call reserve_encryptions with the \
                     number of values to seal first",
                    self.project
                )));
            }
            match self.allowance.compare_exchange(
                current,
                current - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Seals `plaintext` for the field (`table`, `column`) of the row `row` with the active data
    /// key: `enc1:` + base64 of the blob. Uses one reserved encryption.
    pub fn seal(
        &self,
        table: &str,
        column: &str,
        row: &str,
        plaintext: &str,
    ) -> Result<String, StoreError> {
        self.take_one()?;
        let aad = field_aad(&self.project, table, column, row);
        let blob = self
            .keys
            .encrypt(plaintext.as_bytes(), &aad)
            .map_err(|e| crypto_error("cannot seal a value", e))?;
        let text = base64::engine::general_purpose::STANDARD.encode(blob);
        Ok(format!("{SEALED_PREFIX}{text}"))
    }

    /// Opens a value read from the field (`table`, `column`) of the row `row`. A value without
    /// the `enc1:` prefix is legacy plaintext and is returned unchanged.
    ///
    /// Errors: [`StoreError::Encryption`] when the value does not authenticate for this place
    /// (tampered, or moved from another row/column/project) or names a data key these keys do
    /// not hold (written by a replica after a rotation: reload with [`crate::Store::project_crypto`]).
    pub fn open(
        &self,
        table: &str,
        column: &str,
        row: &str,
        stored: &str,
    ) -> Result<String, StoreError> {
        let Some(text) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_string());
        };
        let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(text) else {
            return Err(StoreError::Encryption(format!(
                "sealed value of {table}.{column} (row {row}) is not valid base64"
            )));
        };
        let aad = field_aad(&self.project, table, column, row);
        let plain = self
            .keys
            .decrypt(&blob, &aad)
            .map_err(|e| crypto_error(&format!("cannot open {table}.{column} of row {row}"), e))?;
        String::from_utf8(plain).map_err(|_| {
            StoreError::Encryption(format!(
                "opened value of {table}.{column} (row {row}) is not UTF-8"
            ))
        })
    }

    /// The keyed blind index of `value` in `domain` (e.g. `"email"`): `bi1:` + hex
    /// HMAC-SHA-256 under the project's index key. Equal inputs give equal indexes within one
    /// project and domain; nothing about the value can be learnt from it without the key.
    /// Normalise first (e.g. lowercase an e-mail) if the lookup should ignore case.
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(self.index_key.expose_bytes());
        let Ok(mut mac) = mac else {
            // HMAC accepts keys of any length; unreachable, but never panic.
            return format!("{BLIND_INDEX_PREFIX}invalid");
        };
        mac.update(b"wfm-store/blind-index/v1");
        mac.update(
            &u32::try_from(domain.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        mac.update(domain.as_bytes());
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(BLIND_INDEX_PREFIX.len() + 64);
        out.push_str(BLIND_INDEX_PREFIX);
        for byte in tag.iter() {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
        out
    }
}

/// One data key as [`crate::Store::key_status`] shows it (never key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyStatus {
    /// Data key id (written in every value it sealed).
    pub id: String,
    /// Id of the KEK that wraps it.
    pub kek_id: String,
    /// Encryptions reserved with it so far (an upper bound of those performed).
    pub encryptions: u64,
    /// True for the key new values are sealed with.
    pub active: bool,
}

/// One project's keys as [`crate::Store::key_status`] shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectKeyStatus {
    /// Project id.
    pub project: String,
    /// Every data key, in id order.
    pub data_keys: Vec<DataKeyStatus>,
    /// Id of the KEK that wraps the blind-index key.
    pub index_kek_id: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// What [`crate::Store::rewrap_keys`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewrapReport {
    /// Projects whose keys were re-wrapped.
    pub projects: u64,
    /// Data keys re-wrapped (blind-index keys not counted).
    pub data_keys: u64,
}
