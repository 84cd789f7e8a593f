//! Validated key ids (data keys and key-encryption keys).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CryptoError;

/// The longest key id accepted (it is stored in every blob header, length-prefixed by one byte).
pub const MAX_KEY_ID_LEN: usize = 64;

/// Checks a key id: 1..=64 bytes of `[A-Za-z0-9._:-]`.
pub(crate) fn validate_key_id(id: &str) -> Result<(), CryptoError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !id.chars().all(ok_char) {
        return Err(CryptoError::InvalidKeyId(id.chars().take(80).collect()));
    }
    Ok(())
}

/// The id of a data key; stored in every blob so decryption can find the key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DataKeyId(String);

impl DataKeyId {
    /// Validates and wraps an id (1..=64 bytes of `[A-Za-z0-9._:-]`).
    pub fn new(id: impl Into<String>) -> Result<Self, CryptoError> {
        let id = id.into();
        validate_key_id(&id)?;
        Ok(DataKeyId(id))
    }

    /// A fresh random id: `dk-` and 16 hex digits (64 random bits).
    pub fn random() -> Self {
        let bytes: [u8; 8] = rand::random();
        DataKeyId(format!("dk-{}", hex::encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DataKeyId {
    type Error = CryptoError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DataKeyId::new(value)
    }
}

impl From<DataKeyId> for String {
    fn from(value: DataKeyId) -> Self {
        value.0
    }
}

impl fmt::Display for DataKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DataKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKeyId({})", self.0)
    }
}
