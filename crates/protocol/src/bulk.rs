//! The bulk path for large transfers (backfills): the hub hands out a pre-signed upload URL and
//! a fresh data key, the importer PUTs the batch encrypted with that key straight to object
//! storage, then asks the hub to ingest it from there.
//!
//! 1. `POST /api/v1/bulk/uploads` with a [`BulkUploadRequest`] (route, plaintext size and
//!    SHA-256) → [`BulkUploadResponse`] (upload id, pre-signed `PUT` URL, expiry, data key).
//! 2. `PUT <url>` with the body [`bulk_aad`]-bound AES-256-GCM blob (the `wfm-crypto` blob format,
//!    key id [`bulk_key_id`]). No hub token goes to object storage; the URL is the credential.
//! 3. `POST /api/v1/bulk/uploads/{id}/ingest` with the batch's `Idempotency-Key` → exactly the
//!    answer the direct route gives for the same batch (status, body, `Idempotent-Replay`).
//!
//! Errors of the bulk routes: 404 `bulk_not_configured` (the hub has no `[bulk]` section: send
//! directly), 404 `not_found` (unknown or foreign upload id), 410 `upload_expired`, 409
//! `upload_missing` (nothing was uploaded, or it was removed: upload again), 409
//! `upload_conflict` (already ingested under another idempotency key), 413 `payload_too_large`,
//! 422 `upload_corrupt` (size, authentication or SHA-256 check failed).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `POST`: ask for a pre-signed upload URL ([`BulkUploadRequest`] → [`BulkUploadResponse`]).
pub const BULK_UPLOADS: &str = "/api/v1/bulk/uploads";
/// `POST`: ingest an uploaded object (needs `Idempotency-Key`; no body).
pub const BULK_INGEST: &str = "/api/v1/bulk/uploads/{id}/ingest";

/// The path of the ingest call of one upload.
pub fn ingest_path(upload_id: &str) -> String {
    format!("{BULK_UPLOADS}/{upload_id}/ingest")
}

/// The data key's id written into the blob header: `bulk-<upload id>`.
pub fn bulk_key_id(upload_id: &str) -> String {
    format!("bulk-{upload_id}")
}

/// The AES-GCM associated data of a bulk object: binds the ciphertext to its upload, so an object
/// cannot be replayed under another upload id.
pub fn bulk_aad(upload_id: &str) -> Vec<u8> {
    format!("wfm-bulk-v1:{upload_id}").into_bytes()
}

/// Bytes the encrypted object has for a plaintext of `plaintext_bytes` under key id
/// [`bulk_key_id`]: version, id length, id, 96-bit nonce, ciphertext, 128-bit tag.
pub fn encrypted_len(upload_id: &str, plaintext_bytes: u64) -> u64 {
    let id_len = bulk_key_id(upload_id).len() as u64;
    2 + id_len + 12 + plaintext_bytes + 16
}

/// The direct routes a bulk upload can stand in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkRoute {
    /// `POST /api/v1/intervals` ([`crate::intervals::IntervalBatch`]).
    Intervals,
    /// `POST /api/v1/agent-states` ([`crate::states::StateBatch`]).
    AgentStates,
    /// `POST /api/v1/directory/sync` ([`crate::SyncRequest`]).
    DirectorySync,
    /// `PUT /api/v1/reason-codes` ([`crate::states::ReasonCodeSet`]).
    ReasonCodes,
}

impl BulkRoute {
    /// Every route, in a fixed order.
    pub const ALL: [BulkRoute; 4] = [
        BulkRoute::Intervals,
        BulkRoute::AgentStates,
        BulkRoute::DirectorySync,
        BulkRoute::ReasonCodes,
    ];

    /// The direct route's path.
    pub fn path(self) -> &'static str {
        match self {
            BulkRoute::Intervals => crate::routes::INTERVALS,
            BulkRoute::AgentStates => crate::routes::AGENT_STATES,
            BulkRoute::DirectorySync => crate::routes::DIRECTORY_SYNC,
            BulkRoute::ReasonCodes => crate::routes::REASON_CODES,
        }
    }

    /// The direct route's HTTP method: `POST`, or `PUT` for reason codes.
    pub fn method(self) -> &'static str {
        match self {
            BulkRoute::ReasonCodes => "PUT",
            _ => "POST",
        }
    }

    /// The route of a direct path, if it has a bulk equivalent.
    pub fn from_path(path: &str) -> Option<BulkRoute> {
        BulkRoute::ALL.into_iter().find(|r| r.path() == path)
    }

    /// The wire name (`intervals`, `agent_states`, `directory_sync`, `reason_codes`).
    pub fn as_str(self) -> &'static str {
        match self {
            BulkRoute::Intervals => "intervals",
            BulkRoute::AgentStates => "agent_states",
            BulkRoute::DirectorySync => "directory_sync",
            BulkRoute::ReasonCodes => "reason_codes",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<BulkRoute> {
        BulkRoute::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Body of `POST /api/v1/bulk/uploads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkUploadRequest {
    /// The direct route the batch is for.
    pub route: BulkRoute,
    /// Size of the plaintext batch (the JSON body the direct route would get), in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the plaintext batch.
    pub sha256: String,
}

/// Answer of `POST /api/v1/bulk/uploads` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkUploadResponse {
    /// Id of the upload (UUID), for the ingest call.
    pub upload_id: String,
    /// Pre-signed object-storage URL to send the encrypted batch to.
    pub url: String,
    /// HTTP method for `url`: `PUT`.
    pub method: String,
    /// The URL and the upload stop being accepted at this instant.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Fresh AES-256-GCM key (32 bytes, standard base64) to encrypt the batch with.
    pub data_key: String,
}

/// True for a lowercase hex SHA-256 (64 digits).
pub fn valid_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip_through_paths_and_names() {
        for route in BulkRoute::ALL {
            assert_eq!(BulkRoute::from_path(route.path()), Some(route));
            assert_eq!(BulkRoute::parse(route.as_str()), Some(route));
            let json = serde_json::to_string(&route).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", route.as_str()));
        }
        assert_eq!(BulkRoute::from_path("/api/v1/users"), None);
        assert_eq!(BulkRoute::ReasonCodes.method(), "PUT");
    }

    #[test]
    fn sha256_hex_must_be_lowercase_and_64_digits() {
        assert!(valid_sha256_hex(&"a".repeat(64)));
        assert!(!valid_sha256_hex(&"A".repeat(64)));
        assert!(!valid_sha256_hex(&"a".repeat(63)));
        assert!(!valid_sha256_hex(&"g".repeat(64)));
    }

    #[test]
    fn encrypted_length_counts_header_nonce_and_tag() {
        let id = "0b8f4c1e-5b0f-4d8e-9a57-3c1d2e4f6a7b";
        assert_eq!(encrypted_len(id, 100), 2 + 41 + 12 + 100 + 16);
    }
}
