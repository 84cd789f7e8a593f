//! Data keys (the AES-256-GCM keys that encrypt data) and their wrapped, storable form.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ids::DataKeyId;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM authentication tag in bytes.
pub const TAG_LEN: usize = 16;

/// A plaintext AES-256-GCM data key with its id. Zeroized on drop; `Debug` shows only the id.
///
/// A data key only ever leaves memory wrapped by a key-encryption key ([`WrappedKey`]).
pub struct DataKey {
    id: DataKeyId,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    /// A fresh random key (OS randomness) with a fresh random id.
    pub fn generate() -> Self {
        Self::generate_with_id(DataKeyId::random())
    }

    /// A fresh random key (OS randomness) with the given id.
    pub fn generate_with_id(id: DataKeyId) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
        DataKey { id, key }
    }

    /// Rebuilds a key from its bytes, e.g. inside a [`crate::KeyEncryptionKey::unwrap`]
    /// implementation. The caller should zeroize its own copy.
    pub fn from_bytes(id: DataKeyId, bytes: &[u8; KEY_LEN]) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        DataKey { id, key }
    }

    /// The key's id.
    pub fn id(&self) -> &DataKeyId {
        &self.id
    }

    /// The raw key bytes, for [`crate::KeyEncryptionKey::wrap`] implementations only.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.key
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A data key encrypted ("wrapped") by a key-encryption key: safe to store next to the data.
///
/// `version` names the wrapping format as understood by the KEK named by `kek_id`
/// ([`crate::LocalKek`] writes version 1: AES-256-GCM, AAD binding both ids).
/// Serialises with `nonce` and `ciphertext` as base64 strings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Id of the key-encryption key that wrapped this data key.
    pub kek_id: String,
    /// Id of the wrapped data key (authenticated by the wrapping).
    pub key_id: DataKeyId,
    /// Wrapping format version.
    pub version: u8,
    /// Wrapping nonce.
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    /// Encrypted data key including its authentication tag.
    #[serde(with = "b64")]
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kek_id", &self.kek_id)
            .field("key_id", &self.key_id)
            .field("version", &self.version)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// Serde helper: bytes as standard base64 strings.
mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
