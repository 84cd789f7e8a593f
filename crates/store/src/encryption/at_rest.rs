//! Encryption at rest switched on for a whole [`Store`]: the KEK, every project's unwrapped keys
//! (cached after first use) and [`Fields`], the handle one store operation seals and opens its
//! field values with.
//!
//! An operation runs inside [`Store::sealed`]: it gets a [`Fields`] for its project, seals what
//! it writes and opens what it reads. Reservations against the per-key bound are made ahead, in
//! chunks, outside the operation's transaction (a SQLite write transaction must not wait for a
//! second connection's write). Should an operation run out of reserved encryptions, or meet a
//! value sealed with a data key this process has not loaded yet (rotated by another replica),
//! it fails, its transaction rolls back, and [`Store::sealed`] reserves more / reloads the keys
//! and runs it again (operations are transactional and idempotent, so that is safe).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedRwLockReadGuard, RwLock};
use wfm_crypto::{KeyEncryptionKey, DEFAULT_ENCRYPTION_LIMIT};
use wfm_model::ProjectId;

use super::ProjectCrypto;
use crate::error::StoreError;
use crate::Store;

/// Encryptions reserved at a time (a restart forgets at most this many of the 2^31 per key).
const RESERVATION: u64 = 1 << 20;

/// Below this many reserved encryptions, the next operation reserves a fresh chunk first.
const LOW_WATER: u64 = 1 << 16;

/// How often [`Store::sealed`] runs an operation that ran out of reservations or met an
/// unknown data key.
const ATTEMPTS: usize = 3;

/// How often a process checks whether another one rotated a project's data key (new values
/// are sealed with the new key from then on).
const ROTATION_CHECK: Duration = Duration::from_secs(30);

/// One project's cached keys and when the stored active key was last compared with them.
struct Slot {
    crypto: Arc<RwLock<ProjectCrypto>>,
    checked: std::sync::Mutex<Instant>,
}

type ProjectSlot = Arc<Slot>;

/// Encryption at rest of a [`Store`]: the key-encryption key and the cache of unwrapped project
/// keys. Created by [`Store::with_encryption`].
pub struct AtRest {
    kek: Arc<dyn KeyEncryptionKey>,
    limit: u64,
    projects: std::sync::Mutex<HashMap<String, ProjectSlot>>,
}

impl std::fmt::Debug for AtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtRest")
            .field("kek", &self.kek.id())
            .field("limit", &self.limit)
            .finish()
    }
}

impl AtRest {
    fn slot(&self, project: &str) -> Option<ProjectSlot> {
        let map = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        map.get(project).cloned()
    }

    fn put(&self, project: &str, slot: ProjectSlot) -> ProjectSlot {
        let mut map = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(project.to_string()).or_insert(slot).clone()
    }

    fn forget(&self, project: &str) {
        let mut map = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(project);
    }
}

/// What an operation ran into that another attempt can cure.
#[derive(Debug, Default)]
struct Needs {
    reservation: AtomicBool,
    reload: AtomicBool,
}

/// How one store operation seals and opens field values: in clear (encryption off) or with the
/// project's keys. Obtained inside [`Store::sealed`].
pub(crate) struct Fields {
    crypto: Option<OwnedRwLockReadGuard<ProjectCrypto>>,
    needs: Arc<Needs>,
}

impl Fields {
    /// No encryption: values are written as they are.
    pub(crate) fn clear() -> Fields {
        Fields {
            crypto: None,
            needs: Arc::default(),
        }
    }

    /// True when values are sealed (so SQL cannot compare or search them).
    pub(crate) fn encrypts(&self) -> bool {
        self.crypto.is_some()
    }

    /// `value` as is with encryption off; else its keyed blind index in `domain` (for hashes
    /// and lookup keys that would otherwise let a reader confirm a guessed value).
    pub(crate) fn keyed(&self, domain: &str, value: &str) -> String {
        match &self.crypto {
            None => value.to_string(),
            Some(crypto) => crypto.blind_index(domain, value),
        }
    }

    /// The value to store in (`table`, `column`) of row `row`.
    pub(crate) fn seal(
        &self,
        table: &str,
        column: &str,
        row: &str,
        value: &str,
    ) -> Result<String, StoreError> {
        let Some(crypto) = &self.crypto else {
            return Ok(value.to_string());
        };
        crypto.seal(table, column, row, value).inspect_err(|_| {
            if crypto.allowance() == 0 {
                self.needs.reservation.store(true, Ordering::SeqCst);
            }
        })
    }

    /// [`Fields::seal`] of an optional value.
    pub(crate) fn seal_opt(
        &self,
        table: &str,
        column: &str,
        row: &str,
        value: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        value.map(|v| self.seal(table, column, row, v)).transpose()
    }

    /// The plaintext of a value read from (`table`, `column`) of row `row`. Values written in
    /// clear (before encryption was switched on) are returned as they are.
    ///
    /// Errors: [`StoreError::Encryption`] for a sealed value when encryption is off (configure
    /// the KEK that sealed it), or one that does not open.
    pub(crate) fn open(
        &self,
        table: &str,
        column: &str,
        row: &str,
        stored: String,
    ) -> Result<String, StoreError> {
        match &self.crypto {
            None if ProjectCrypto::is_sealed(&stored) => Err(StoreError::Encryption(format!(
                "{table}.{column} of row {row} is encrypted, but this hub has encryption at rest \
                 switched off: configure [encryption] with the KEK that sealed it"
            ))),
            None => Ok(stored),
            Some(_) if !ProjectCrypto::is_sealed(&stored) => Ok(stored),
            Some(crypto) => crypto.open(table, column, row, &stored).inspect_err(|_| {
                self.needs.reload.store(true, Ordering::SeqCst);
            }),
        }
    }

    /// [`Fields::open`] of an optional value.
    pub(crate) fn open_opt(
        &self,
        table: &str,
        column: &str,
        row: &str,
        stored: Option<String>,
    ) -> Result<Option<String>, StoreError> {
        stored.map(|v| self.open(table, column, row, v)).transpose()
    }
}

impl Store {
    /// This store with encryption at rest switched on: personal data (names, e-mails, user and
    /// group attribute values such as extensions and aliases), SCIM documents, sync change logs,
    /// stored answers, raw agent-state events and adherence exception notes are sealed with the
    /// project's data key (wrapped by `kek`) before they reach the database. Values stored in
    /// clear before stay readable and are sealed when next rewritten.
    pub fn with_encryption(self, kek: Arc<dyn KeyEncryptionKey>) -> Store {
        self.with_encryption_limit(kek, DEFAULT_ENCRYPTION_LIMIT)
    }

    /// [`Store::with_encryption`] with another bound of encryptions per data key (tests).
    pub fn with_encryption_limit(self, kek: Arc<dyn KeyEncryptionKey>, limit: u64) -> Store {
        Store {
            db: self.db,
            at_rest: Some(Arc::new(AtRest {
                kek,
                limit: limit.max(1),
                projects: std::sync::Mutex::new(HashMap::new()),
            })),
        }
    }

    /// True when encryption at rest is on.
    pub fn encrypts(&self) -> bool {
        self.at_rest.is_some()
    }

    /// The project's cached keys, loaded (and created on first use) when missing.
    async fn project_slot(
        &self,
        at_rest: &AtRest,
        project: &ProjectId,
    ) -> Result<ProjectSlot, StoreError> {
        if let Some(slot) = at_rest.slot(project.as_str()) {
            return Ok(slot);
        }
        let crypto = self
            .project_crypto(project, at_rest.kek.as_ref(), at_rest.limit)
            .await?;
        let slot = Slot {
            crypto: Arc::new(RwLock::new(crypto)),
            checked: std::sync::Mutex::new(Instant::now()),
        };
        Ok(at_rest.put(project.as_str(), Arc::new(slot)))
    }

    /// Drops the cached keys when the stored active data key is no longer the cached one
    /// (`wfm-hub keys rotate` ran, or another replica rotated at the bound); checked at most
    /// every [`ROTATION_CHECK`].
    async fn check_rotation(
        &self,
        at_rest: &AtRest,
        project: &ProjectId,
        slot: &Slot,
    ) -> Result<bool, StoreError> {
        {
            let mut checked = slot.checked.lock().unwrap_or_else(|p| p.into_inner());
            if checked.elapsed() < ROTATION_CHECK {
                return Ok(false);
            }
            *checked = Instant::now();
        }
        let stored = self.stored_active_key(project.as_str()).await?;
        let cached = slot
            .crypto
            .read()
            .await
            .active_key_id()
            .as_str()
            .to_string();
        if stored.as_deref() == Some(cached.as_str()) {
            return Ok(false);
        }
        tracing::info!(
            project = project.as_str(),
            "the project's data key was rotated elsewhere; loading the new one"
        );
        at_rest.forget(project.as_str());
        Ok(true)
    }

    /// Reserves a fresh chunk when fewer than `want` encryptions are left.
    async fn top_up(&self, at_rest: &AtRest, slot: &Slot, want: u64) -> Result<(), StoreError> {
        if slot.crypto.read().await.allowance() >= want {
            return Ok(());
        }
        let mut crypto = slot.crypto.write().await;
        if crypto.allowance() < want {
            let chunk = RESERVATION.max(want).min(at_rest.limit);
            self.reserve_encryptions(&mut crypto, at_rest.kek.as_ref(), chunk)
                .await?;
        }
        Ok(())
    }

    /// Runs one operation of `project` with its [`Fields`] (see the module documentation).
    pub(crate) async fn sealed<T, F, Fut>(
        &self,
        project: &ProjectId,
        op: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(Fields) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let Some(at_rest) = &self.at_rest else {
            return op(Fields::clear()).await;
        };
        if at_rest.slot(project.as_str()).is_none() && !self.project_exists(project).await? {
            // Never create keys for a project that does not exist; the operation itself says
            // what an unknown project means for it.
            return op(Fields::clear()).await;
        }
        let mut want = LOW_WATER.min(at_rest.limit);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut slot = self.project_slot(at_rest, project).await?;
            if self.check_rotation(at_rest, project, &slot).await? {
                slot = self.project_slot(at_rest, project).await?;
            }
            self.top_up(at_rest, &slot, want).await?;
            let needs = Arc::new(Needs::default());
            let fields = Fields {
                crypto: Some(slot.crypto.clone().read_owned().await),
                needs: needs.clone(),
            };
            let result = op(fields).await;
            if result.is_ok() || attempt >= ATTEMPTS {
                return result;
            }
            if needs.reservation.load(Ordering::SeqCst) {
                want = want.saturating_mul(16).min(at_rest.limit);
            } else if needs.reload.load(Ordering::SeqCst) {
                at_rest.forget(project.as_str());
            } else {
                return result;
            }
        }
    }
}
