//! The one error type of this crate.

/// Everything that can go wrong while loading keys, wrapping, encrypting or decrypting.
///
/// Messages never contain key material or plaintext. Decryption failures are deliberately
/// uninformative (wrong key, wrong AAD and tampering all look the same).
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Key material could not be read from its source (file missing, unreadable, variable unset).
    #[error("cannot read key material from {source_name}: {reason}")]
    KeySource {
        /// Where the key was supposed to come from (a path or a variable name, never the key).
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// Key material has the wrong length or encoding.
    #[error("invalid key material: {0}")]
    InvalidKeyMaterial(&'static str),
    /// A key id is empty, too long or contains characters outside `[A-Za-z0-9._:-]`.
    #[error("invalid key id: {0:?}")]
    InvalidKeyId(String),
    /// The blob or wrapped key is too short or structurally garbled.
    #[error("malformed ciphertext: {0}")]
    Malformed(&'static str),
    /// The blob or wrapped key carries a format version this build does not understand.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// No data key with this id is known to the project.
    #[error("unknown data key {0:?}")]
    UnknownDataKey(String),
    /// No key-encryption key with this id is configured.
    #[error("unknown key-encryption key {0:?}")]
    UnknownKek(String),
    /// Authentication failed: wrong key, wrong AAD, or the ciphertext was altered.
    #[error("decryption failed (wrong key, wrong associated data, or tampered ciphertext)")]
    Decrypt,
    /// Encryption failed inside the cipher (e.g. a payload over the AES-GCM length limit).
    #[error("encryption failed")]
    Encrypt,
    /// The data key reached its encryption bound; rotate to a new data key and retry.
    #[error("data key {key_id} reached its bound of {limit} encryptions; rotate the data key")]
    KeyExhausted {
        /// The exhausted data key.
        key_id: String,
        /// The bound that was reached.
        limit: u64,
    },
    /// A remote key service (KMS) failed; `retriable` says whether the same call may succeed later.
    #[error("key service error: {message}")]
    Backend {
        /// What the key service said (no key material).
        message: String,
        /// Whether retrying the same call later may succeed.
        retriable: bool,
    },
}

impl CryptoError {
    /// A bounded, stable label for metrics and logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            CryptoError::KeySource { .. } => "key_source",
            CryptoError::InvalidKeyMaterial(_) => "invalid_key_material",
            CryptoError::InvalidKeyId(_) => "invalid_key_id",
            CryptoError::Malformed(_) => "malformed",
            CryptoError::UnsupportedVersion(_) => "unsupported_version",
            CryptoError::UnknownDataKey(_) => "unknown_data_key",
            CryptoError::UnknownKek(_) => "unknown_kek",
            CryptoError::Decrypt => "decrypt",
            CryptoError::Encrypt => "encrypt",
            CryptoError::KeyExhausted { .. } => "key_exhausted",
            CryptoError::Backend { .. } => "backend",
        }
    }

    /// Whether the same call may succeed if retried unchanged. Only key-service outages are;
    /// `KeyExhausted` needs a rotation first, everything else is permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            CryptoError::Backend { retriable, .. } => *retriable,
            _ => false,
        }
    }
}
