//! The plaintext records of the log and their binary encoding (before encryption).
//!
//! Encoding: little-endian integers; strings and byte strings as a u32 length then the bytes;
//! `Option` as a 0/1 byte then the value. Decoding never allocates more than the input holds.

/// Record type codes, stored in the (authenticated) frame header.
pub(crate) mod kind {
    pub const SNAPSHOT: u8 = 1;
    pub const BATCH: u8 = 2;
    pub const ACK: u8 = 3;
    pub const ATTEMPT: u8 = 4;
    pub const DEAD_LETTER: u8 = 5;
    pub const REPLAY: u8 = 6;
    pub const DROP_DEAD: u8 = 7;
    pub const CARRY: u8 = 8;
}

/// Per-source part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceSnapshot {
    pub source: String,
    pub checkpoint: Option<Vec<u8>>,
    pub received: u64,
    pub delivered: u64,
    pub dead_dropped: u64,
    /// When a batch of this source was last acked (ms since the epoch, 0 = never).
    pub last_delivered_ms: u64,
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// Absolute counters and checkpoints; first record of every segment.
    Snapshot {
        next_id: u64,
        encryptions: u64,
        sources: Vec<SourceSnapshot>,
    },
    /// A batch and the source's new checkpoint, appended atomically.
    Batch {
        id: u64,
        appended_at_ms: u64,
        source: String,
        checkpoint: Vec<u8>,
        payload: Vec<u8>,
    },
    /// A batch delivered, and when (ms since the epoch by the outbox clock; 0 in records
    /// written before the time was recorded).
    Ack {
        id: u64,
        at_ms: u64,
    },
    Attempt {
        id: u64,
        n: u32,
    },
    DeadLetter {
        id: u64,
        reason: String,
    },
    Replay {
        id: u64,
    },
    DropDead {
        id: u64,
    },
    /// A live batch copied forward by a segment roll, with its full state.
    Carry {
        id: u64,
        appended_at_ms: u64,
        source: String,
        attempts: u32,
        dead_reason: Option<String>,
        payload: Vec<u8>,
    },
}

impl Record {
    pub fn kind(&self) -> u8 {
        match self {
            Record::Snapshot { .. } => kind::SNAPSHOT,
            Record::Batch { .. } => kind::BATCH,
            Record::Ack { .. } => kind::ACK,
            Record::Attempt { .. } => kind::ATTEMPT,
            Record::DeadLetter { .. } => kind::DEAD_LETTER,
            Record::Replay { .. } => kind::REPLAY,
            Record::DropDead { .. } => kind::DROP_DEAD,
            Record::Carry { .. } => kind::CARRY,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Record::Snapshot {
                next_id,
                encryptions,
                sources,
            } => {
                put_u64(&mut out, *next_id);
                put_u64(&mut out, *encryptions);
                put_u32(&mut out, sources.len() as u32);
                for s in sources {
                    put_bytes(&mut out, s.source.as_bytes());
                    put_opt_bytes(&mut out, s.checkpoint.as_deref());
                    put_u64(&mut out, s.received);
                    put_u64(&mut out, s.delivered);
                    put_u64(&mut out, s.dead_dropped);
                }
                // Trailing section (added after the first release; absent in older snapshots):
                // the last delivery time of each source, in the order above.
                put_u32(&mut out, sources.len() as u32);
                for s in sources {
                    put_u64(&mut out, s.last_delivered_ms);
                }
            }
            Record::Batch {
                id,
                appended_at_ms,
                source,
                checkpoint,
                payload,
            } => {
                out.reserve(payload.len() + checkpoint.len() + source.len() + 32);
                put_u64(&mut out, *id);
                put_u64(&mut out, *appended_at_ms);
                put_bytes(&mut out, source.as_bytes());
                put_bytes(&mut out, checkpoint);
                put_bytes(&mut out, payload);
            }
            Record::Ack { id, at_ms } => {
                put_u64(&mut out, *id);
                put_u64(&mut out, *at_ms);
            }
            Record::Replay { id } | Record::DropDead { id } => {
                put_u64(&mut out, *id);
            }
            Record::Attempt { id, n } => {
                put_u64(&mut out, *id);
                put_u32(&mut out, *n);
            }
            Record::DeadLetter { id, reason } => {
                put_u64(&mut out, *id);
                put_bytes(&mut out, reason.as_bytes());
            }
            Record::Carry {
                id,
                appended_at_ms,
                source,
                attempts,
                dead_reason,
                payload,
            } => {
                out.reserve(payload.len() + source.len() + 64);
                put_u64(&mut out, *id);
                put_u64(&mut out, *appended_at_ms);
                put_bytes(&mut out, source.as_bytes());
                put_u32(&mut out, *attempts);
                put_opt_bytes(&mut out, dead_reason.as_deref().map(str::as_bytes));
                put_bytes(&mut out, payload);
            }
        }
        out
    }

    /// Decodes a record of the given kind; `None` when the bytes do not form one exactly.
    pub fn decode(kind: u8, bytes: &[u8]) -> Option<Record> {
        let mut r = Reader { rest: bytes };
        let record = match kind {
            kind::SNAPSHOT => {
                let next_id = r.u64()?;
                let encryptions = r.u64()?;
                let count = r.u32()?;
                let mut sources = Vec::new();
                for _ in 0..count {
                    sources.push(SourceSnapshot {
                        source: r.string()?,
                        checkpoint: r.opt_bytes()?,
                        received: r.u64()?,
                        delivered: r.u64()?,
                        dead_dropped: r.u64()?,
                        last_delivered_ms: 0,
                    });
                }
                if !r.rest.is_empty() {
                    if r.u32()? as usize != sources.len() {
                        return None;
                    }
                    for s in &mut sources {
                        s.last_delivered_ms = r.u64()?;
                    }
                }
                Record::Snapshot {
                    next_id,
                    encryptions,
                    sources,
                }
            }
            kind::BATCH => Record::Batch {
                id: r.u64()?,
                appended_at_ms: r.u64()?,
                source: r.string()?,
                checkpoint: r.bytes()?.to_vec(),
                payload: r.bytes()?.to_vec(),
            },
            kind::ACK => Record::Ack {
                id: r.u64()?,
                // Older acks carry only the id.
                at_ms: if r.rest.is_empty() { 0 } else { r.u64()? },
            },
            kind::ATTEMPT => Record::Attempt {
                id: r.u64()?,
                n: r.u32()?,
            },
            kind::DEAD_LETTER => Record::DeadLetter {
                id: r.u64()?,
                reason: r.string()?,
            },
            kind::REPLAY => Record::Replay { id: r.u64()? },
            kind::DROP_DEAD => Record::DropDead { id: r.u64()? },
            kind::CARRY => Record::Carry {
                id: r.u64()?,
                appended_at_ms: r.u64()?,
                source: r.string()?,
                attempts: r.u32()?,
                dead_reason: match r.opt_bytes()? {
                    None => None,
                    Some(raw) => Some(String::from_utf8(raw).ok()?),
                },
                payload: r.bytes()?.to_vec(),
            },
            _ => return None,
        };
        if !r.rest.is_empty() {
            return None;
        }
        Some(record)
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    put_u32(out, v.len() as u32);
    out.extend_from_slice(v);
}

fn put_opt_bytes(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    fn opt_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.bytes()?.to_vec())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_kind_round_trips() {
        let records = vec![
            Record::Snapshot {
                next_id: 9,
                encryptions: 77,
                sources: vec![SourceSnapshot {
                    source: "uccx".into(),
                    checkpoint: Some(b"cp".to_vec()),
                    received: 3,
                    delivered: 2,
                    dead_dropped: 1,
                    last_delivered_ms: 12,
                }],
            },
            Record::Batch {
                id: 1,
                appended_at_ms: 5,
                source: "s".into(),
                checkpoint: vec![1, 2],
                payload: vec![3; 10],
            },
            Record::Ack { id: 4, at_ms: 11 },
            Record::Attempt { id: 4, n: 2 },
            Record::DeadLetter {
                id: 4,
                reason: "bad".into(),
            },
            Record::Replay { id: 4 },
            Record::DropDead { id: 4 },
            Record::Carry {
                id: 4,
                appended_at_ms: 8,
                source: "s".into(),
                attempts: 3,
                dead_reason: Some("why".into()),
                payload: vec![],
            },
        ];
        for record in records {
            let bytes = record.encode();
            assert_eq!(Record::decode(record.kind(), &bytes), Some(record.clone()));
            // every strict prefix is rejected (except the shorter forms written before the
            // delivery time was recorded, which decode with time 0), never panics
            for cut in 0..bytes.len() {
                let decoded = Record::decode(record.kind(), &bytes[..cut]);
                if decoded.is_some() && cut == legacy_len(&record) {
                    continue;
                }
                assert_eq!(decoded, None, "{record:?} cut at {cut}");
            }
        }
    }

    /// The length of the record as encoded before the delivery time was added.
    fn legacy_len(record: &Record) -> usize {
        match record {
            Record::Ack { .. } => 8,
            Record::Snapshot { sources, .. } => record.encode().len() - 4 - 8 * sources.len(),
            _ => usize::MAX,
        }
    }

    #[test]
    fn records_written_before_delivery_times_still_decode() {
        let mut ack = Vec::new();
        put_u64(&mut ack, 4);
        assert_eq!(
            Record::decode(kind::ACK, &ack),
            Some(Record::Ack { id: 4, at_ms: 0 })
        );
        let snapshot = Record::Snapshot {
            next_id: 2,
            encryptions: 3,
            sources: vec![SourceSnapshot {
                source: "s".into(),
                checkpoint: None,
                received: 1,
                delivered: 1,
                dead_dropped: 0,
                last_delivered_ms: 9,
            }],
        };
        let bytes = snapshot.encode();
        let old = &bytes[..legacy_len(&snapshot)];
        let Some(Record::Snapshot { sources, .. }) = Record::decode(kind::SNAPSHOT, old) else {
            panic!("old snapshot does not decode");
        };
        assert_eq!(sources[0].last_delivered_ms, 0);
        assert_eq!(sources[0].delivered, 1);
    }

    #[test]
    fn huge_length_fields_are_rejected_without_allocating() {
        let mut bytes = vec![0u8; 16];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Record::decode(kind::BATCH, &bytes), None);
        let mut snap = vec![0u8; 16];
        snap.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Record::decode(kind::SNAPSHOT, &snap), None);
        assert_eq!(Record::decode(99, &[]), None);
    }
}
