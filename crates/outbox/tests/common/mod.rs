//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wfm_outbox::{Clock, Outbox, OutboxConfig, OutboxKey, RecoveryReport};

pub fn key() -> OutboxKey {
    OutboxKey::from_bytes([7u8; 32])
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct FakeClock(pub Arc<Mutex<SystemTime>>);

impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock(Arc::new(Mutex::new(
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )))
    }
    pub fn now_value(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

pub fn config(dir: &Path) -> OutboxConfig {
    OutboxConfig::new(dir, key())
}

pub fn open(dir: &Path) -> (Outbox, RecoveryReport) {
    Outbox::open(config(dir)).expect("open outbox")
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    out.sort();
    out
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

/// Conservation per source: received = delivered + buffered + dead_lettered.
pub fn assert_conservation(outbox: &Outbox) {
    for (source, s) in outbox.stats().sources {
        assert_eq!(
            s.received,
            s.delivered + s.buffered + s.dead_lettered,
            "conservation for {source}: {s:?}"
        );
    }
}
