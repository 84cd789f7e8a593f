//! Record framing on disk: a 32-byte header (magic, version, type, segment, offset, length,
//! CRC-32 of the header) followed by `nonce || AES-256-GCM(ciphertext || tag)` with the header
//! as associated data, so that a record only authenticates at the segment and offset it was
//! written for.

use std::fs::File;
use std::os::unix::fs::FileExt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::OutboxKey;

pub(crate) const MAGIC: [u8; 4] = *b"WFMO";
pub(crate) const VERSION: u8 = 1;
pub(crate) const HEADER_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
/// Largest plaintext record (payload + checkpoint + source + fields): 64 MiB.
pub(crate) const MAX_PLAINTEXT: usize = 64 * 1024 * 1024;
/// Largest body length a header may declare.
pub(crate) const MAX_BODY: u32 = (MAX_PLAINTEXT + NONCE_LEN + TAG_LEN) as u32;

/// A parsed, CRC-checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub kind: u8,
    pub segment: u64,
    pub offset: u64,
    pub body_len: u32,
}

impl Header {
    pub fn frame_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.body_len)
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = self.kind;
        // bytes 6..8 reserved, zero
        out[8..16].copy_from_slice(&self.segment.to_le_bytes());
        out[16..24].copy_from_slice(&self.offset.to_le_bytes());
        out[24..28].copy_from_slice(&self.body_len.to_le_bytes());
        let crc = crc32fast::hash(&out[0..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks a header; the error says what was wrong (never content).
    pub fn parse(raw: &[u8; HEADER_LEN]) -> Result<Header, &'static str> {
        if raw[0..4] != MAGIC {
            return Err("bad magic");
        }
        let crc = u32::from_le_bytes([raw[28], raw[29], raw[30], raw[31]]);
        if crc32fast::hash(&raw[0..28]) != crc {
            return Err("header checksum mismatch");
        }
        if raw[4] != VERSION {
            return Err("unsupported record version");
        }
        if raw[6] != 0 || raw[7] != 0 {
            return Err("reserved header bytes set");
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let segment = u64_at(8);
        let offset = u64_at(16);
        let body_len = u32::from_le_bytes([raw[24], raw[25], raw[26], raw[27]]);
        if body_len < (NONCE_LEN + TAG_LEN) as u32 || body_len > MAX_BODY {
            return Err("record length out of range");
        }
        Ok(Header {
            kind: raw[5],
            segment,
            offset,
            body_len,
        })
    }
}

/// Encrypts and authenticates frames with the outbox key.
pub(crate) struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    pub fn new(key: &OutboxKey) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes())),
        }
    }

    /// The full frame (header + nonce + ciphertext) for a record at `segment`/`offset`.
    pub fn seal(&self, kind: u8, segment: u64, offset: u64, plaintext: &[u8]) -> Vec<u8> {
        let body_len = (NONCE_LEN + plaintext.len() + TAG_LEN) as u32;
        let header = Header {
            kind,
            segment,
            offset,
            body_len,
        }
        .encode();
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut frame = Vec::with_capacity(HEADER_LEN + body_len as usize);
        frame.extend_from_slice(&header);
        frame.extend_from_slice(&nonce);
        // Encryption with a 12-byte nonce and an in-range length cannot fail; an empty
        // ciphertext would fail authentication on read rather than panic here.
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &header,
                },
            )
            .unwrap_or_default();
        frame.extend_from_slice(&ciphertext);
        frame
    }

    /// Decrypts a body whose header bytes are `header`; `None` when it does not authenticate.
    pub fn open(&self, header: &[u8; HEADER_LEN], body: &[u8]) -> Option<Vec<u8>> {
        if body.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: header,
                },
            )
            .ok()
    }
}

/// What reading one frame at an offset gave.
pub(crate) enum FrameRead {
    /// A frame whose header checks and whose body authenticates.
    Ok { header: Header, plaintext: Vec<u8> },
    /// The file ends before the frame does.
    Short,
    /// The header is not valid (or is valid for another position).
    BadHeader(&'static str),
    /// The header is valid but the body does not authenticate.
    AuthFailed,
}

/// Reads and verifies the frame at `offset` of segment `segment` (file length `file_len`).
pub(crate) fn read_frame(
    file: &File,
    file_len: u64,
    segment: u64,
    offset: u64,
    sealer: &Sealer,
) -> std::io::Result<FrameRead> {
    if file_len.saturating_sub(offset) < HEADER_LEN as u64 {
        return Ok(FrameRead::Short);
    }
    let mut raw = [0u8; HEADER_LEN];
    file.read_exact_at(&mut raw, offset)?;
    let header = match Header::parse(&raw) {
        Ok(h) => h,
        Err(why) => return Ok(FrameRead::BadHeader(why)),
    };
    if header.segment != segment || header.offset != offset {
        return Ok(FrameRead::BadHeader(
            "record belongs to another segment or offset",
        ));
    }
    if file_len - offset < header.frame_len() {
        return Ok(FrameRead::Short);
    }
    // body_len <= MAX_BODY (64 MiB + 28) and the file holds that many bytes
    let mut body = vec![0u8; header.body_len as usize];
    file.read_exact_at(&mut body, offset + HEADER_LEN as u64)?;
    match sealer.open(&raw, &body) {
        Some(plaintext) => Ok(FrameRead::Ok { header, plaintext }),
        None => Ok(FrameRead::AuthFailed),
    }
}

/// True when an authentic frame of `segment` starts anywhere in `[from, file_len)`: used to tell
/// a torn tail (nothing valid after the damage) from damage in the middle of the log.
pub(crate) fn authentic_frame_after(
    file: &File,
    file_len: u64,
    segment: u64,
    from: u64,
    sealer: &Sealer,
) -> std::io::Result<bool> {
    const CHUNK: usize = 64 * 1024;
    let mut pos = from;
    let mut buf = vec![0u8; CHUNK + MAGIC.len()];
    while pos < file_len {
        let want = (file_len - pos).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..want], pos)?;
        let window = &buf[..want];
        for i in 0..want.saturating_sub(MAGIC.len() - 1) {
            if window[i..i + MAGIC.len()] != MAGIC {
                continue;
            }
            let at = pos + i as u64;
            if let FrameRead::Ok { .. } = read_frame(file, file_len, segment, at, sealer)? {
                return Ok(true);
            }
        }
        if want < buf.len() {
            break;
        }
        pos += CHUNK as u64;
    }
    Ok(false)
}
