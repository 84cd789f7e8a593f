//! Opening an outbox: listing segments, verifying and replaying every record, truncating a
//! torn tail of the last segment, refusing corruption anywhere else and a wrong key.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use crate::frame::{self, FrameRead, Sealer};
use crate::outbox::{Inner, Outbox};
use crate::record::Record;
use crate::roll::create_segment;
use crate::segment::{self, Active};
use crate::state::{Location, State};
use crate::{OutboxConfig, OutboxError, RecoveryReport};

pub(crate) fn open(cfg: OutboxConfig) -> Result<(Outbox, RecoveryReport), OutboxError> {
    if cfg.segment_bytes == 0 || cfg.max_bytes == 0 || cfg.encryption_limit < 64 {
        return Err(OutboxError::invalid(
            "outbox config: segment_bytes and max_bytes must be > 0, encryption_limit >= 64",
        ));
    }
    let dir = cfg.dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| OutboxError::io("create dir", &dir, e))?;
    // Before anything is read or repaired: another process may be writing.
    let lock = crate::lock::acquire(&dir)?;
    let sealer = Sealer::new(&cfg.key);
    let mut report = RecoveryReport::default();

    let (segments, temps) = segment::list(&dir)?;
    for tmp in &temps {
        std::fs::remove_file(tmp).map_err(|e| OutboxError::io("remove temp", tmp, e))?;
    }
    report.removed_temp_files = temps.len();

    let mut state = State::new();
    let mut encryptions = 0u64;
    let mut sizes = BTreeMap::new();
    let active = if segments.is_empty() {
        encryptions = 1;
        let records = [state.snapshot(1)];
        let mut count = 0;
        let (active, _) = create_segment(&dir, 1, &sealer, &records, &mut count, None)?;
        sizes.insert(1, active.len);
        active
    } else {
        check_contiguous(&dir, &segments)?;
        let last = segments[segments.len() - 1];
        for &seq in &segments {
            let len = replay_segment(
                &dir,
                seq,
                seq == last,
                &segments,
                &sealer,
                &mut state,
                &mut encryptions,
                &mut report,
            )?;
            sizes.insert(seq, len);
        }
        report.segments = segments.len();
        let path = segment::segment_path(&dir, last);
        let file = segment::open_rw(&path)?;
        let len = sizes.get(&last).copied().unwrap_or(0);
        let mut active = Active {
            seq: last,
            path,
            file,
            len,
            base_len: len,
        };
        if len == 0 {
            // An empty last segment (its first record was torn): start it with a snapshot so
            // that every segment begins with the counters and the key can be checked.
            encryptions += 1;
            let frame = sealer.seal(
                crate::record::kind::SNAPSHOT,
                last,
                0,
                &state.snapshot(encryptions).encode(),
            );
            active
                .write_frame(&frame)
                .map_err(|(e, _)| OutboxError::io("write", &active.path, e))?;
            active
                .file
                .sync_data()
                .map_err(|e| OutboxError::io("fsync", &active.path, e))?;
            active.base_len = active.len;
            sizes.insert(last, active.len);
        }
        active
    };
    if !temps.is_empty() || report.truncated_bytes > 0 {
        segment::sync_dir(&dir)?;
    }
    let outbox = Outbox {
        dir,
        clock: cfg.clock.clone(),
        segment_bytes: cfg.segment_bytes,
        max_bytes: cfg.max_bytes,
        fsync: cfg.fsync,
        limit: cfg.encryption_limit,
        inner: Mutex::new(Inner {
            state,
            sealer,
            active,
            segments: sizes,
            encryptions,
            unsynced: 0,
            broken: None,
            refusing: false,
        }),
        _lock: lock,
    };
    Ok((outbox, report))
}

fn check_contiguous(dir: &Path, segments: &[u64]) -> Result<(), OutboxError> {
    for pair in segments.windows(2) {
        if pair[1] != pair[0] + 1 {
            return Err(OutboxError::Corrupt {
                file: segment::segment_path(dir, pair[0] + 1),
                offset: 0,
                detail: format!(
                    "segment missing between {} and {}",
                    segment::segment_path(dir, pair[0]).display(),
                    segment::segment_path(dir, pair[1]).display()
                ),
            });
        }
    }
    Ok(())
}

/// Replays one segment; returns its (possibly truncated) length.
#[allow(clippy::too_many_arguments)]
fn replay_segment(
    dir: &Path,
    seq: u64,
    is_last: bool,
    all: &[u64],
    sealer: &Sealer,
    state: &mut State,
    encryptions: &mut u64,
    report: &mut RecoveryReport,
) -> Result<u64, OutboxError> {
    let path = segment::segment_path(dir, seq);
    let file = if is_last {
        segment::open_rw(&path)?
    } else {
        File::open(&path).map_err(|e| OutboxError::io("open segment", &path, e))?
    };
    let len = file
        .metadata()
        .map_err(|e| OutboxError::io("stat", &path, e))?
        .len();
    let io = |e| OutboxError::io("read", &path, e);
    let mut offset = 0u64;
    while offset < len {
        let mut auth_failed = false;
        let problem = match frame::read_frame(&file, len, seq, offset, sealer).map_err(io)? {
            FrameRead::Ok { header, plaintext } => {
                let Some(record) = Record::decode(header.kind, &plaintext) else {
                    // Authentic but not decodable: written by another format version or a bug,
                    // never a torn write. Refuse rather than guess.
                    return Err(OutboxError::Corrupt {
                        file: path.clone(),
                        offset,
                        detail: format!("record of type {} does not decode", header.kind),
                    });
                };
                if let Record::Snapshot { encryptions: n, .. } = &record {
                    *encryptions = (*encryptions).max(*n);
                } else {
                    *encryptions += 1;
                }
                let at = Location {
                    segment: seq,
                    offset,
                    frame_len: header.frame_len(),
                };
                state.apply(record, at);
                report.records += 1;
                offset += header.frame_len();
                continue;
            }
            FrameRead::Short => "record cut short by the end of the file",
            FrameRead::BadHeader(why) => why,
            FrameRead::AuthFailed => {
                auth_failed = true;
                "record does not authenticate"
            }
        };
        if auth_failed && report.records == 0 && !any_authentic(dir, all, sealer)? {
            return Err(OutboxError::WrongKey {
                file: segment::segment_path(dir, all[0]),
            });
        }
        let later_valid =
            frame::authentic_frame_after(&file, len, seq, offset + 1, sealer).map_err(io)?;
        if !is_last || later_valid {
            return Err(OutboxError::Corrupt {
                file: path.clone(),
                offset,
                detail: problem.to_string(),
            });
        }
        // A torn or damaged tail of the last segment: only records never acknowledged to a
        // caller can be here (every acknowledged one was fsync'd before the call returned).
        report.truncated_records = count_frames(&file, len, offset);
        report.truncated_bytes = len - offset;
        report.truncated_at = offset;
        report.truncated_file = Some(path.clone());
        *encryptions += report.truncated_records; // their nonces may have been used
        file.set_len(offset)
            .map_err(|e| OutboxError::io("truncate", &path, e))?;
        file.sync_all()
            .map_err(|e| OutboxError::io("fsync", &path, e))?;
        return Ok(offset);
    }
    Ok(len)
}

/// Whether any record of any segment authenticates with the key.
fn any_authentic(dir: &Path, all: &[u64], sealer: &Sealer) -> Result<bool, OutboxError> {
    for &seq in all {
        let path = segment::segment_path(dir, seq);
        let file = File::open(&path).map_err(|e| OutboxError::io("open segment", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| OutboxError::io("stat", &path, e))?
            .len();
        if frame::authentic_frame_after(&file, len, seq, 0, sealer)
            .map_err(|e| OutboxError::io("read", &path, e))?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How many (whole or partial) records the dropped tail held: walks headers while they parse.
fn count_frames(file: &File, len: u64, from: u64) -> u64 {
    use std::os::unix::fs::FileExt;
    let mut count = 0u64;
    let mut at = from;
    let mut raw = [0u8; frame::HEADER_LEN];
    while at < len {
        count += 1;
        if len - at < frame::HEADER_LEN as u64 || file.read_exact_at(&mut raw, at).is_err() {
            break;
        }
        match frame::Header::parse(&raw) {
            Ok(h) => at += h.frame_len(),
            Err(_) => break,
        }
    }
    count.max(1)
}
