//! A project's data keys: one active key for encryption, older keys kept for decryption.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::datakey::{DataKey, WrappedKey};
use crate::envelope::{parse_blob, Cipher, DEFAULT_ENCRYPTION_LIMIT};
use crate::ids::DataKeyId;
use crate::kek::KeyEncryptionKey;
use crate::CryptoError;

/// The storable form of a project's keys: wrapped data keys with their encryption counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProjectKeys {
    /// The data key new data is encrypted with.
    pub active: DataKeyId,
    /// Every data key of the project, wrapped.
    pub keys: Vec<StoredDataKey>,
}

/// One wrapped data key and how many encryptions it has done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDataKey {
    /// The wrapped key.
    pub wrapped: WrappedKey,
    /// Encryptions performed with it (persist after use so the bound survives restarts).
    pub encryptions: u64,
}

struct Entry {
    /// Kept (zeroized on drop) so the key can be re-wrapped without the old KEK.
    key: DataKey,
    cipher: Cipher,
    wrapped: WrappedKey,
}

/// A project's data keys by id, exactly one active. Encrypts with the active key; decrypts with
/// whichever key the blob names. Unwrapped keys live only in memory; [`ProjectKeys::export`] gives
/// the wrapped form to store.
pub struct ProjectKeys {
    active: DataKeyId,
    keys: BTreeMap<DataKeyId, Entry>,
    limit: u64,
}

impl ProjectKeys {
    /// A new project with one fresh data key wrapped by `kek`.
    pub fn create(kek: &dyn KeyEncryptionKey) -> Result<Self, CryptoError> {
        let mut keys = ProjectKeys {
            active: DataKeyId::random(),
            keys: BTreeMap::new(),
            limit: DEFAULT_ENCRYPTION_LIMIT,
        };
        keys.rotate_data_key(kek)?;
        Ok(keys)
    }

    /// Unwraps stored keys with `kek` (typically a [`crate::KekRing`]).
    pub fn load(
        stored: &StoredProjectKeys,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        for entry in &stored.keys {
            let dek = kek.unwrap(&entry.wrapped)?;
            if dek.id() != &entry.wrapped.key_id {
                return Err(CryptoError::Malformed(
                    "unwrapped key id differs from wrapped key id",
                ));
            }
            let cipher = Cipher::with_state(&dek, entry.encryptions, DEFAULT_ENCRYPTION_LIMIT);
            let id = dek.id().clone();
            let new_entry = Entry {
                key: dek,
                cipher,
                wrapped: entry.wrapped.clone(),
            };
            if keys.insert(id, new_entry).is_some() {
                return Err(CryptoError::Malformed("duplicate data key id"));
            }
        }
        if !keys.contains_key(&stored.active) {
            return Err(CryptoError::UnknownDataKey(stored.active.to_string()));
        }
        Ok(ProjectKeys {
            active: stored.active.clone(),
            keys,
            limit: DEFAULT_ENCRYPTION_LIMIT,
        })
    }

    /// Sets the encryption bound for every key of this project (default 2^31).
    pub fn set_encryption_limit(&mut self, limit: u64) {
        self.limit = limit;
        for entry in self.keys.values_mut() {
            entry.cipher.set_limit(limit);
        }
    }

    /// The id of the key new data is encrypted with.
    pub fn active_key_id(&self) -> &DataKeyId {
        &self.active
    }

    /// Every data key id, in id order.
    pub fn key_ids(&self) -> Vec<DataKeyId> {
        self.keys.keys().cloned().collect()
    }

    /// Encryptions performed with the key, if known.
    pub fn encryptions(&self, id: &DataKeyId) -> Option<u64> {
        self.keys.get(id).map(|e| e.cipher.encryptions())
    }

    /// The active key's cipher.
    pub fn active_cipher(&self) -> Result<&Cipher, CryptoError> {
        match self.keys.get(&self.active) {
            Some(entry) => Ok(&entry.cipher),
            None => Err(CryptoError::UnknownDataKey(self.active.to_string())),
        }
    }

    /// Encrypts with the active key. [`CryptoError::KeyExhausted`] means: call
    /// [`ProjectKeys::rotate_data_key`], persist, retry.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.active_cipher()?.encrypt(plaintext, aad)
    }

    /// Decrypts a blob with the key whose id it carries.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parts = parse_blob(blob)?;
        let Ok(id) = DataKeyId::new(parts.key_id) else {
            return Err(CryptoError::Malformed("blob key id is invalid"));
        };
        match self.keys.get(&id) {
            Some(entry) => entry.cipher.decrypt_parts(&parts, aad),
            None => Err(CryptoError::UnknownDataKey(parts.key_id.to_string())),
        }
    }

    /// Generates a new data key, wraps it with `kek` and makes it active; older keys stay for
    /// reading. Returns the new key's id. Persist [`ProjectKeys::export`] afterwards.
    pub fn rotate_data_key(
        &mut self,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<DataKeyId, CryptoError> {
        let mut id = DataKeyId::random();
        while self.keys.contains_key(&id) {
            id = DataKeyId::random();
        }
        let dek = DataKey::generate_with_id(id.clone());
        let wrapped = kek.wrap(&dek)?;
        let cipher = Cipher::with_state(&dek, 0, self.limit);
        let entry = Entry {
            key: dek,
            cipher,
            wrapped,
        };
        self.keys.insert(id.clone(), entry);
        self.active = id.clone();
        Ok(id)
    }

    /// Re-wraps every data key with `new_kek` without touching encrypted data. All or nothing:
    /// on error nothing changes. Persist [`ProjectKeys::export`] afterwards; then the old KEK is
    /// no longer needed.
    pub fn rewrap(&mut self, new_kek: &dyn KeyEncryptionKey) -> Result<(), CryptoError> {
        let mut rewrapped = Vec::with_capacity(self.keys.len());
        for (id, entry) in &self.keys {
            let wrapped = new_kek.wrap(&entry.key)?;
            rewrapped.push((id.clone(), wrapped));
        }
        for (id, wrapped) in rewrapped {
            if let Some(entry) = self.keys.get_mut(&id) {
                entry.wrapped = wrapped;
            }
        }
        Ok(())
    }

    /// The storable form: every key wrapped, with its current counter.
    pub fn export(&self) -> StoredProjectKeys {
        let keys = self
            .keys
            .values()
            .map(|e| StoredDataKey {
                wrapped: e.wrapped.clone(),
                encryptions: e.cipher.encryptions(),
            })
            .collect();
        StoredProjectKeys {
            active: self.active.clone(),
            keys,
        }
    }
}
