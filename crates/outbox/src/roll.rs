//! Segment rolls: sealing the active segment, starting a new one with a snapshot and the
//! carried dead-lettered batches, and deleting the old segments that no longer hold anything
//! live. Used when the active segment is full and by `compact`.

use std::path::Path;

use crate::frame::Sealer;
use crate::outbox::{Inner, Outbox};
use crate::record::Record;
use crate::segment::{self, Active};
use crate::state::Location;
use crate::OutboxError;

/// Writes `records` into a new segment `seq` via a temp file: write, fsync, rename, fsync dir.
/// `encryptions` is advanced per record; a snapshot among `records` must already hold the
/// count including itself.
pub(crate) fn create_segment(
    dir: &Path,
    seq: u64,
    sealer: &Sealer,
    records: &[Record],
    encryptions: &mut u64,
    crash: Option<u8>,
) -> Result<(Active, Vec<Location>), OutboxError> {
    let tmp = segment::temp_path(dir, seq);
    let path = segment::segment_path(dir, seq);
    let file = segment::create_new(&tmp)?;
    let mut active = Active {
        seq,
        path: path.clone(),
        file,
        len: 0,
        base_len: 0,
    };
    let mut locations = Vec::with_capacity(records.len());
    for record in records {
        let offset = active.len;
        let frame = sealer.seal(record.kind(), seq, offset, &record.encode());
        *encryptions += 1;
        active
            .write_frame(&frame)
            .map_err(|(e, _)| OutboxError::io("write", &tmp, e))?;
        locations.push(Location {
            segment: seq,
            offset,
            frame_len: frame.len() as u64,
        });
    }
    active
        .file
        .sync_all()
        .map_err(|e| OutboxError::io("fsync", &tmp, e))?;
    if crash == Some(1) {
        return Err(simulated_crash(&tmp));
    }
    std::fs::rename(&tmp, &path).map_err(|e| OutboxError::io("rename", &tmp, e))?;
    segment::sync_dir(dir)?;
    active.base_len = active.len;
    Ok((active, locations))
}

fn simulated_crash(path: &Path) -> OutboxError {
    OutboxError::io("simulated crash", path, std::io::Error::other("test seam"))
}

impl Outbox {
    /// Rolls to a new segment when `force`, or when it frees something. Returns whether it
    /// rolled. `crash` is the test seam of `debug_compact_crash`.
    pub(crate) fn roll(
        &self,
        inner: &mut Inner,
        force: bool,
        crash: Option<u8>,
    ) -> Result<bool, OutboxError> {
        if let Some(why) = inner.broken {
            return Err(OutboxError::io(
                "roll",
                &inner.active.path,
                std::io::Error::other(format!("{why}; reopen the outbox")),
            ));
        }
        // The longest prefix of segments (the active one included, it is about to be sealed)
        // holding no pending batch: deletable once dead-lettered batches are carried forward.
        let with_pending = inner.state.segments_with_pending();
        let prefix: Vec<u64> = inner
            .segments
            .keys()
            .copied()
            .take_while(|seq| !with_pending.contains(seq))
            .collect();
        if !force {
            let only_fresh_active = prefix.len() == 1
                && prefix[0] == inner.active.seq
                && inner.active.len == inner.active.base_len;
            if prefix.is_empty() || only_fresh_active {
                return Ok(false);
            }
        }
        if inner.encryptions >= self.limit {
            return Err(OutboxError::KeyExhausted {
                encryptions: inner.encryptions,
                limit: self.limit,
            });
        }
        // Seal the active segment: everything in it is durable before a later segment exists.
        if let Err(e) = inner.active.file.sync_data() {
            inner.broken = Some("fsync failed");
            return Err(OutboxError::io("fsync", &inner.active.path, e));
        }
        inner.unsynced = 0;

        let carried_ids: Vec<u64> = inner
            .state
            .live
            .iter()
            .filter(|(_, e)| e.dead.is_some() && prefix.contains(&e.segment))
            .map(|(id, _)| *id)
            .collect();
        let mut records = vec![inner.state.snapshot(inner.encryptions + 1)];
        for id in carried_ids {
            let (entry, payload) = self.read_payload(inner, id)?;
            records.push(Record::Carry {
                id,
                appended_at_ms: entry.appended_at_ms,
                source: entry.source,
                attempts: entry.attempts,
                dead_reason: entry.dead,
                payload,
            });
        }
        let new_seq = inner.active.seq + 1;
        let mut encryptions = inner.encryptions;
        let created = create_segment(
            &self.dir,
            new_seq,
            &inner.sealer,
            &records,
            &mut encryptions,
            crash,
        );
        inner.encryptions = encryptions;
        let (active, locations) = created?;
        for (record, at) in records.into_iter().zip(locations) {
            if matches!(record, Record::Carry { .. }) {
                inner.state.apply(record, at);
            }
        }
        inner.segments.insert(new_seq, active.len);
        inner.active = active;
        if crash == Some(2) {
            return Err(simulated_crash(&inner.active.path));
        }

        // Delete oldest first, so that what remains is always a contiguous run of segments.
        for seq in prefix {
            let path = segment::segment_path(&self.dir, seq);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // retried by the next roll; the segment holds nothing live
                Err(_) => break,
            }
            inner.segments.remove(&seq);
            if crash == Some(3) {
                return Err(simulated_crash(&path));
            }
        }
        segment::sync_dir(&self.dir)?;
        Ok(true)
    }
}
