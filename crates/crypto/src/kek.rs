//! Key-encryption keys: the trait a KMS can implement, a local (file/env) implementation, and a
//! ring of several KEKs by id so data keys can be re-wrapped during KEK rotation.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

use crate::datakey::{DataKey, WrappedKey, KEY_LEN, NONCE_LEN};
use crate::ids::validate_key_id;
use crate::CryptoError;

/// Wrapping format written by [`LocalKek`]: AES-256-GCM, random nonce, AAD binds KEK and key ids.
pub const LOCAL_WRAP_VERSION: u8 = 1;

/// A key-encryption key (KEK): wraps and unwraps data keys. Implemented locally by [`LocalKek`]
/// and, later, by KMS clients.
///
/// Execution: calls are synchronous and may block (a KMS round trip); call them at key-load or
/// rotation time, not per record. Implementations must be safe to share between threads.
///
/// Errors: `unwrap` returns [`CryptoError::UnknownKek`] when `w.kek_id` is not this KEK,
/// [`CryptoError::UnsupportedVersion`]/[`CryptoError::Malformed`] for a format it cannot read, and
/// [`CryptoError::Decrypt`] when authentication fails. Remote failures are
/// [`CryptoError::Backend`].
///
/// Retry: only errors with [`CryptoError::is_retriable`] may be retried, with back-off; wrapping
/// is not idempotent (fresh nonce each time) but any successful result is valid.
pub trait KeyEncryptionKey: Send + Sync {
    /// This KEK's id, recorded in every [`WrappedKey`] it produces.
    fn id(&self) -> &str;
    /// Encrypts a data key under this KEK.
    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError>;
    /// Decrypts a data key wrapped by this KEK, checking its integrity and ids.
    fn unwrap(&self, w: &WrappedKey) -> Result<DataKey, CryptoError>;
}

/// A 32-byte KEK held in process memory, loaded from a file (raw or hex) or an environment
/// variable (hex). Zeroized on drop; `Debug` prints only the id.
pub struct LocalKek {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl LocalKek {
    /// A KEK from raw bytes (exactly 32). The caller should zeroize its own copy.
    pub fn from_bytes(id: impl Into<String>, bytes: &[u8]) -> Result<Self, CryptoError> {
        let id = id.into();
        validate_key_id(&id)?;
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::InvalidKeyMaterial(
                "a KEK must be exactly 32 bytes",
            ));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Ok(LocalKek { id, key })
    }

    /// A KEK from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(id: impl Into<String>, text: &str) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let trimmed = text.trim();
        if trimmed.len() != KEY_LEN * 2 {
            return Err(CryptoError::InvalidKeyMaterial(
                "a hex KEK must be 64 hex digits",
            ));
        }
        if hex::decode_to_slice(trimmed, key.as_mut()).is_err() {
            return Err(CryptoError::InvalidKeyMaterial(
                "a hex KEK must be 64 hex digits",
            ));
        }
        Self::from_bytes(id, key.as_ref())
    }

    /// A KEK from a file holding either exactly 32 raw bytes or 64 hex digits (plus whitespace).
    pub fn from_file(id: impl Into<String>, path: &Path) -> Result<Self, CryptoError> {
        let contents = std::fs::read(path).map_err(|e| CryptoError::KeySource {
            source_name: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        let contents = Zeroizing::new(contents);
        if contents.len() == KEY_LEN {
            return Self::from_bytes(id, &contents);
        }
        match std::str::from_utf8(&contents) {
            Ok(text) => Self::from_hex(id, text),
            Err(_) => Err(CryptoError::InvalidKeyMaterial(
                "a KEK file must hold 32 raw bytes or 64 hex digits",
            )),
        }
    }

    /// A KEK from an environment variable holding 64 hex digits.
    pub fn from_env(id: impl Into<String>, var: &str) -> Result<Self, CryptoError> {
        let value = std::env::var(var).map_err(|e| CryptoError::KeySource {
            source_name: format!("${var}"),
            reason: e.to_string(),
        })?;
        let value = Zeroizing::new(value);
        Self::from_hex(id, &value)
    }

    /// A fresh random KEK (for tests and first-time setup; persist it yourself).
    pub fn generate(id: impl Into<String>) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
        Self::from_bytes(id, key.as_ref())
    }

    /// A fresh random KEK written to `path` as 64 hex digits (mode 0600 on Unix). Never
    /// overwrites: fails with [`CryptoError::KeySource`] when the file already exists.
    pub fn create_file(id: impl Into<String>, path: &Path) -> Result<Self, CryptoError> {
        use std::io::Write as _;
        let kek = Self::generate(id)?;
        let source = |e: std::io::Error| CryptoError::KeySource {
            source_name: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(source)?;
        let text = Zeroizing::new(hex::encode(kek.key.as_ref()));
        file.write_all(text.as_bytes()).map_err(source)?;
        file.write_all(b"\n").map_err(source)?;
        file.sync_all().map_err(source)?;
        Ok(kek)
    }

    fn aead(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_ref()))
    }
}

/// Associated data for wrapping: a domain label plus both ids, each length-prefixed.
fn wrap_aad(kek_id: &str, key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + kek_id.len() + key_id.len());
    aad.extend_from_slice(b"wfm-crypto/wrap/v1");
    aad.push(kek_id.len() as u8);
    aad.extend_from_slice(kek_id.as_bytes());
    aad.push(key_id.len() as u8);
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

impl KeyEncryptionKey for LocalKek {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let aad = wrap_aad(&self.id, dek.id().as_str());
        let payload = Payload {
            msg: dek.expose_bytes(),
            aad: &aad,
        };
        let ciphertext = self
            .aead()
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::Encrypt)?;
        Ok(WrappedKey {
            kek_id: self.id.clone(),
            key_id: dek.id().clone(),
            version: LOCAL_WRAP_VERSION,
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    fn unwrap(&self, w: &WrappedKey) -> Result<DataKey, CryptoError> {
        if w.kek_id != self.id {
            return Err(CryptoError::UnknownKek(w.kek_id.clone()));
        }
        if w.version != LOCAL_WRAP_VERSION {
            return Err(CryptoError::UnsupportedVersion(w.version));
        }
        if w.nonce.len() != NONCE_LEN {
            return Err(CryptoError::Malformed(
                "wrapped key nonce has the wrong length",
            ));
        }
        let aad = wrap_aad(&self.id, w.key_id.as_str());
        let payload = Payload {
            msg: &w.ciphertext,
            aad: &aad,
        };
        let plain = self
            .aead()
            .decrypt(Nonce::from_slice(&w.nonce), payload)
            .map_err(|_| CryptoError::Decrypt)?;
        let plain = Zeroizing::new(plain);
        if plain.len() != KEY_LEN {
            return Err(CryptoError::Malformed("unwrapped key has the wrong length"));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&plain);
        Ok(DataKey::from_bytes(w.key_id.clone(), &bytes))
    }
}

impl fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKek")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Several KEKs by id: `current` wraps new data keys; `others` (retired KEKs) can still unwrap
/// during a rotation, until every data key has been re-wrapped under `current`.
///
/// Itself a [`KeyEncryptionKey`] whose id is the current KEK's and whose `unwrap` dispatches on
/// [`WrappedKey::kek_id`].
#[derive(Clone)]
pub struct KekRing {
    /// The KEK that wraps new and re-wrapped data keys.
    pub current: Arc<dyn KeyEncryptionKey>,
    /// Older KEKs kept only to unwrap data keys not yet re-wrapped.
    pub others: Vec<Arc<dyn KeyEncryptionKey>>,
}

impl KekRing {
    /// A ring with a current KEK and no others.
    pub fn new(current: Arc<dyn KeyEncryptionKey>) -> Self {
        KekRing {
            current,
            others: Vec::new(),
        }
    }

    /// Adds a retired KEK that may still unwrap.
    pub fn with_other(mut self, kek: Arc<dyn KeyEncryptionKey>) -> Self {
        self.others.push(kek);
        self
    }

    /// The KEK with this id, if configured.
    pub fn get(&self, id: &str) -> Option<&Arc<dyn KeyEncryptionKey>> {
        if self.current.id() == id {
            return Some(&self.current);
        }
        self.others.iter().find(|k| k.id() == id)
    }
}

impl KeyEncryptionKey for KekRing {
    fn id(&self) -> &str {
        self.current.id()
    }

    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        self.current.wrap(dek)
    }

    fn unwrap(&self, w: &WrappedKey) -> Result<DataKey, CryptoError> {
        match self.get(&w.kek_id) {
            Some(kek) => kek.unwrap(w),
            None => Err(CryptoError::UnknownKek(w.kek_id.clone())),
        }
    }
}

impl fmt::Debug for KekRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others: Vec<&str> = self.others.iter().map(|k| k.id()).collect();
        f.debug_struct("KekRing")
            .field("current", &self.current.id())
            .field("others", &others)
            .finish()
    }
}
