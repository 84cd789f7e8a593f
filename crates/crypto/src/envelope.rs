//! Encrypting byte strings with one data key into versioned, self-describing blobs.
//!
//! Blob format (version 1):
//! `[version = 1][key id length: u8][key id bytes][nonce: 12 bytes][ciphertext + 16-byte tag]`.
//! The AES-GCM associated data is the header (version, length, key id) followed by the caller's
//! AAD, so neither the header nor the context (project, table, column, row) can be swapped.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::datakey::{DataKey, NONCE_LEN, TAG_LEN};
use crate::ids::{validate_key_id, DataKeyId};
use crate::CryptoError;

/// The blob format version written by this build.
pub const BLOB_VERSION: u8 = 1;

/// Default bound on encryptions per data key (2^31), well below the 2^32 random-nonce limit.
pub const DEFAULT_ENCRYPTION_LIMIT: u64 = 1 << 31;

/// The parts of a blob, borrowed from it; produced by [`parse_blob`] without any key.
#[derive(Debug, Clone, Copy)]
pub struct BlobParts<'a> {
    /// Format version.
    pub version: u8,
    /// Id of the data key that encrypted the blob (already validated).
    pub key_id: &'a str,
    /// The header bytes authenticated as AAD prefix.
    header: &'a [u8],
    /// 96-bit nonce.
    pub nonce: &'a [u8],
    /// Ciphertext followed by the tag.
    pub ciphertext: &'a [u8],
}

/// Splits a blob into its parts. Never panics; truncated or garbled input is an error.
pub fn parse_blob(blob: &[u8]) -> Result<BlobParts<'_>, CryptoError> {
    let Some((&version, rest)) = blob.split_first() else {
        return Err(CryptoError::Malformed("empty blob"));
    };
    if version != BLOB_VERSION {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    let Some((&id_len, rest)) = rest.split_first() else {
        return Err(CryptoError::Malformed("blob truncated in header"));
    };
    let id_len = usize::from(id_len);
    if rest.len() < id_len + NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed("blob truncated"));
    }
    let (id_bytes, rest) = rest.split_at(id_len);
    let Ok(key_id) = std::str::from_utf8(id_bytes) else {
        return Err(CryptoError::Malformed("blob key id is not UTF-8"));
    };
    if validate_key_id(key_id).is_err() {
        return Err(CryptoError::Malformed("blob key id is invalid"));
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    Ok(BlobParts {
        version,
        key_id,
        header: &blob[..2 + id_len],
        nonce,
        ciphertext,
    })
}

/// AES-GCM associated data: the blob header followed by the caller's AAD.
fn full_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(header.len() + aad.len());
    full.extend_from_slice(header);
    full.extend_from_slice(aad);
    full
}

/// Encrypts and decrypts with one data key, counting encryptions against a bound.
///
/// The counter starts at the value the store persisted ([`Cipher::with_state`]) and is exposed by
/// [`Cipher::encryptions`] so the store can persist it again. Once it reaches the bound,
/// [`Cipher::encrypt`] returns [`CryptoError::KeyExhausted`]: rotate the data key. Decryption is
/// never bounded. Thread-safe (`&self`).
pub struct Cipher {
    key_id: DataKeyId,
    aead: Aes256Gcm,
    encryptions: AtomicU64,
    limit: u64,
}

impl Cipher {
    /// A cipher for a new data key: counter 0, bound [`DEFAULT_ENCRYPTION_LIMIT`].
    pub fn new(key: &DataKey) -> Self {
        Self::with_state(key, 0, DEFAULT_ENCRYPTION_LIMIT)
    }

    /// A cipher resuming from a persisted counter with the given bound.
    pub fn with_state(key: &DataKey, encryptions: u64, limit: u64) -> Self {
        Cipher {
            key_id: key.id().clone(),
            aead: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.expose_bytes())),
            encryptions: AtomicU64::new(encryptions),
            limit,
        }
    }

    /// The data key's id (written into every blob).
    pub fn key_id(&self) -> &DataKeyId {
        &self.key_id
    }

    /// Encryptions performed (or reserved) with this key so far; persist it with the key.
    pub fn encryptions(&self) -> u64 {
        self.encryptions.load(Ordering::SeqCst)
    }

    /// The bound on encryptions.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Changes the bound (e.g. from configuration).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// Whether the bound has been reached.
    pub fn is_exhausted(&self) -> bool {
        self.encryptions() >= self.limit
    }

    /// Reserves one encryption under the bound.
    fn reserve(&self) -> Result<(), CryptoError> {
        let mut current = self.encryptions.load(Ordering::SeqCst);
        loop {
            if current >= self.limit {
                return Err(CryptoError::KeyExhausted {
                    key_id: self.key_id.to_string(),
                    limit: self.limit,
                });
            }
            match self.encryptions.compare_exchange(
                current,
                current + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Encrypts `plaintext` bound to `aad` (e.g. project id + table + column + row id) into a
    /// blob with a fresh random 96-bit nonce.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.reserve()?;
        let mut nonce = [0u8; NONCE_LEN];
        // The thread-local CSPRNG (ChaCha, seeded and reseeded from the OS): a syscall per
        // nonce would cost more than the encryption of a short field.
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);

        let id = self.key_id.as_str().as_bytes();
        let mut blob = Vec::with_capacity(2 + id.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
        blob.push(BLOB_VERSION);
        blob.push(id.len() as u8);
        blob.extend_from_slice(id);
        let aad = full_aad(&blob, aad);
        blob.extend_from_slice(&nonce);

        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        let ciphertext = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::Encrypt)?;
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    /// Decrypts a blob written by this key with the same `aad`, verifying it.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parts = parse_blob(blob)?;
        self.decrypt_parts(&parts, aad)
    }

    /// Decrypts already-parsed blob parts.
    pub(crate) fn decrypt_parts(
        &self,
        parts: &BlobParts<'_>,
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if parts.key_id != self.key_id.as_str() {
            return Err(CryptoError::UnknownDataKey(parts.key_id.to_string()));
        }
        let aad = full_aad(parts.header, aad);
        let payload = Payload {
            msg: parts.ciphertext,
            aad: &aad,
        };
        self.aead
            .decrypt(Nonce::from_slice(parts.nonce), payload)
            .map_err(|_| CryptoError::Decrypt)
    }
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("key_id", &self.key_id)
            .field("encryptions", &self.encryptions())
            .field("limit", &self.limit)
            .finish()
    }
}
