//! Encryption at rest and token hashing for the hub.
//!
//! Owns: envelope encryption — per-project AES-256-GCM data keys ([`DataKey`], [`ProjectKeys`])
//! wrapped by a key-encryption key ([`KeyEncryptionKey`], [`LocalKek`], [`KekRing`]); the
//! versioned blob format ([`Cipher`]); the per-data-key encryption bound; API token generation,
//! hashing and constant-time verification ([`token`]).
//!
//! Must not: talk to a database or the network, log, read configuration, or decide *what* is
//! encrypted (the store does). Never prints key material; never panics on input.

mod datakey;
mod envelope;
mod error;
mod ids;
mod kek;
mod project;
pub mod token;

#[cfg(test)]
mod tests;

pub use datakey::{DataKey, WrappedKey, KEY_LEN, NONCE_LEN, TAG_LEN};
pub use envelope::{parse_blob, BlobParts, Cipher, BLOB_VERSION, DEFAULT_ENCRYPTION_LIMIT};
pub use error::CryptoError;
pub use ids::{DataKeyId, MAX_KEY_ID_LEN};
pub use kek::{KekRing, KeyEncryptionKey, LocalKek, LOCAL_WRAP_VERSION};
pub use project::{ProjectKeys, StoredDataKey, StoredProjectKeys};
pub use token::{generate_token, hash_token, TokenHash};
