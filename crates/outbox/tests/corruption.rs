//! Damaged files: a torn or flipped tail is truncated and reported, damage anywhere else is
//! refused with the file and offset, a wrong key is named, and no content panics.

mod common;

use common::*;
use proptest::prelude::*;
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};

/// Two or more segments with acked and pending batches.
fn two_segment_outbox(dir: &std::path::Path) -> OutboxConfig {
    let mut cfg = config(dir);
    cfg.segment_bytes = 2048;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    for i in 0..12u8 {
        outbox.append("s", &[i; 300], &[i]).unwrap();
    }
    assert!(segments(dir).len() >= 2);
    cfg
}

#[test]
fn flipped_byte_in_an_older_segment_is_refused_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = two_segment_outbox(dir.path());
    let first = segments(dir.path())[0].clone();
    // inside the body of the second record of the first segment
    let flip_at = 400;
    flip_byte(&first, flip_at);
    let err = Outbox::open(cfg).err().expect("must refuse");
    assert_eq!(err.error_type(), "corrupt", "{err}");
    let text = err.to_string();
    assert!(
        text.contains(first.file_name().unwrap().to_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("offset"), "{text}");
}

#[test]
fn flipped_byte_in_the_middle_of_the_last_segment_is_refused_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    for i in 0..5u8 {
        outbox.append("s", &[i; 100], &[i]).unwrap();
    }
    let (path, len, _) = outbox.debug_tail();
    drop(outbox);
    flip_byte(&path, 200); // second batch record, valid records follow
    let err = Outbox::open(cfg).err().expect("must refuse");
    assert_eq!(err.error_type(), "corrupt", "{err}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        len,
        "nothing truncated"
    );
}

#[test]
fn flipped_byte_in_the_last_record_is_truncated_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    outbox.append("s", b"one", b"c1").unwrap();
    let (path, before_last, _) = outbox.debug_tail();
    outbox.append("s", b"two", b"c2").unwrap();
    let (_, len, _) = outbox.debug_tail();
    drop(outbox);
    flip_byte(&path, len - 3);
    let (outbox, report) = Outbox::open(cfg.clone()).unwrap();
    assert_eq!(report.truncated_file.as_deref(), Some(path.as_path()));
    assert_eq!(report.truncated_at, before_last);
    assert_eq!(report.truncated_bytes, len - before_last);
    assert_eq!(report.truncated_records, 1);
    assert_eq!(outbox.pending("s", 10).len(), 1);
    assert_eq!(outbox.checkpoint("s").unwrap(), b"c1");
    // the outbox goes on: new records after the cut, and a clean reopen
    outbox.append("s", b"three", b"c3").unwrap();
    drop(outbox);
    let (outbox, report) = Outbox::open(cfg).unwrap();
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(outbox.pending("s", 10).len(), 2);
}

#[test]
fn torn_last_record_at_every_length_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    outbox.append("s", b"kept", b"c1").unwrap();
    let (path, durable, _) = outbox.debug_tail();
    outbox.append("s", &[5u8; 200], b"c2").unwrap();
    let (_, len, _) = outbox.debug_tail();
    drop(outbox);
    let full = std::fs::read(&path).unwrap();
    for cut in durable..len {
        std::fs::write(&path, &full[..cut as usize]).unwrap();
        let (outbox, report) = Outbox::open(cfg.clone()).unwrap();
        assert_eq!(report.truncated_bytes, cut - durable, "cut {cut}");
        assert_eq!(outbox.pending("s", 10).len(), 1, "cut {cut}");
        assert_eq!(outbox.checkpoint("s").unwrap(), b"c1");
    }
}

#[test]
fn wrong_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = two_segment_outbox(dir.path());
    let mut wrong = cfg.clone();
    wrong.key = OutboxKey::from_bytes([8u8; 32]);
    let err = Outbox::open(wrong).err().expect("must refuse");
    assert_eq!(err.error_type(), "wrong_key", "{err}");
    assert!(!err.is_retriable());
    // and nothing was changed: the right key still opens everything
    let (outbox, report) = Outbox::open(cfg).unwrap();
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(outbox.pending("s", 100).len(), 12);
}

#[test]
fn moved_or_renamed_segments_do_not_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = two_segment_outbox(dir.path());
    let segs = segments(dir.path());
    // swap the contents of the first two segments
    let a = std::fs::read(&segs[0]).unwrap();
    let b = std::fs::read(&segs[1]).unwrap();
    std::fs::write(&segs[0], b).unwrap();
    std::fs::write(&segs[1], a).unwrap();
    let err = Outbox::open(cfg).err().expect("must refuse");
    assert_eq!(err.error_type(), "corrupt", "{err}");
}

#[test]
fn missing_middle_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 1024;
    let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
    for i in 0..12u8 {
        outbox.append("s", &[i; 300], &[i]).unwrap();
    }
    drop(outbox);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    std::fs::remove_file(&segs[1]).unwrap();
    assert_eq!(Outbox::open(cfg).err().unwrap().error_type(), "corrupt");
}

#[test]
fn zero_length_and_garbage_files_never_panic() {
    // zero-length only segment: opens empty
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seg-0000000001.log"), b"").unwrap();
    let (outbox, _) = open(dir.path());
    assert!(outbox.oldest("s").is_none());
    outbox.append("s", b"x", b"y").unwrap();
    drop(outbox);
    let (outbox, _) = open(dir.path());
    assert_eq!(outbox.oldest("s").unwrap().payload, b"x");

    // a header claiming a 4 GiB body
    let dir = tempfile::tempdir().unwrap();
    let mut header = Vec::from(*b"WFMO");
    header.extend_from_slice(&[1, 2, 0, 0]);
    header.extend_from_slice(&1u64.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    header.extend_from_slice(&u32::MAX.to_le_bytes());
    let crc = crc32(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.path().join("seg-0000000001.log"), &header).unwrap();
    let result = Outbox::open(config(dir.path()));
    assert!(result.is_ok(), "a bad lone tail is truncated");
}

fn crc32(bytes: &[u8]) -> u32 {
    // CRC-32 (IEEE), bitwise: the tests do not depend on the crate's implementation
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any bytes as a segment, or any bytes appended to a valid one: open returns a result
    /// (error or truncation) and never panics; after a successful open the log is usable.
    #[test]
    fn random_bytes_never_panic(garbage in proptest::collection::vec(any::<u8>(), 0..2048), after_valid in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let path = dir.path().join("seg-0000000001.log");
        if after_valid {
            let (outbox, _) = Outbox::open(cfg.clone()).unwrap();
            outbox.append("s", b"kept", b"c").unwrap();
            drop(outbox);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend_from_slice(&garbage);
            std::fs::write(&path, bytes).unwrap();
        } else {
            std::fs::write(&path, &garbage).unwrap();
        }
        if let Ok((outbox, _)) = Outbox::open(cfg) {
            if after_valid {
                prop_assert_eq!(outbox.oldest("s").unwrap().payload, b"kept".to_vec());
            }
            outbox.append("s", b"more", b"c2").unwrap();
        }
    }
}
