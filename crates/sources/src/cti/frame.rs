//! GED-188 framing: the 8-byte message header (MHDR), the size limits and a bounded stream buffer.
//!
//! Pure code, no I/O. Every length read from the wire is checked against [`MAX_MESSAGE_LEN`]
//! before anything is allocated, so a hostile peer cannot make the reader allocate more than one
//! maximum-size message plus one read chunk.

use std::fmt;

/// Size of the message header: `MessageLength: UINT32` then `MessageType: UINT32`.
pub const HEADER_LEN: usize = 8;

/// Largest message the protocol allows, header included (PV24): 12,500 bytes.
pub const MAX_MESSAGE_LEN: usize = 12_500;

/// Largest body (`MessageLength`, which excludes the header).
pub const MAX_BODY_LEN: usize = MAX_MESSAGE_LEN - HEADER_LEN;

/// Why bytes from the CTI server could not be decoded. Messages name the field or tag and the
/// byte offset inside the message body where decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `MessageLength` is 0: every GED-188 message carries at least one field.
    #[error("message type {msg_type} has MessageLength 0")]
    EmptyMessage {
        /// The message type of the header.
        msg_type: u32,
    },
    /// `MessageLength` exceeds the protocol maximum; the stream cannot be trusted any more.
    #[error(
        "message type {msg_type} declares {len} body bytes, over the protocol maximum of {max}"
    )]
    TooLong {
        /// The message type of the header.
        msg_type: u32,
        /// The declared body length.
        len: u32,
        /// The limit ([`MAX_BODY_LEN`]).
        max: usize,
    },
    /// Fewer bytes than the header or a fixed field needs.
    #[error("truncated {what}: need {need} bytes at offset {offset}, have {have}")]
    Truncated {
        /// The message or field being read.
        what: &'static str,
        /// Offset inside the body (or frame for the header).
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A floating field's length runs past the end of the message.
    #[error("floating field tag {tag} at offset {offset} declares {len} bytes but only {remaining} remain in the message")]
    FieldOverrun {
        /// The field's tag.
        tag: u16,
        /// Offset of the tag inside the body.
        offset: usize,
        /// Declared data length.
        len: usize,
        /// Bytes left in the message after the tag and length.
        remaining: usize,
    },
    /// A floating field's tag or length header is cut off at the end of the message.
    #[error(
        "floating field header cut off at offset {offset} ({remaining} bytes left, need {need})"
    )]
    FieldHeaderCut {
        /// Offset inside the body.
        offset: usize,
        /// Bytes left.
        remaining: usize,
        /// Bytes needed for tag + length.
        need: usize,
    },
    /// A floating field has a length that does not fit its type.
    #[error("floating field tag {tag} has length {len}, expected {expected}")]
    FieldLength {
        /// The field's tag.
        tag: u16,
        /// Its length.
        len: usize,
        /// What the type needs.
        expected: &'static str,
    },
}

/// A decoded message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// `MessageLength`: body bytes, header excluded. Already checked: `1..=MAX_BODY_LEN`.
    pub body_len: usize,
    /// `MessageType`.
    pub msg_type: u32,
}

impl FrameHeader {
    /// Total frame size, header included.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.body_len
    }
}

/// Width of a floating field's tag and length, which depends on the protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldWidth {
    /// PV9 / PV14 / PV17: `Tag: UCHAR | FieldLength: UCHAR`.
    Narrow,
    /// PV20 and later (PV24, PV25): `Tag: USHORT | FieldLength: USHORT`.
    Wide,
}

impl FieldWidth {
    /// The width for the protocol version sent in OPEN_REQ: 2-byte tag/length from version 20 on.
    pub fn for_version(version: u32) -> Self {
        if version >= 20 {
            FieldWidth::Wide
        } else {
            FieldWidth::Narrow
        }
    }

    /// Bytes of tag + length.
    pub fn header_len(self) -> usize {
        match self {
            FieldWidth::Narrow => 2,
            FieldWidth::Wide => 4,
        }
    }
}

impl fmt::Display for FieldWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldWidth::Narrow => f.write_str("1-byte tag/length"),
            FieldWidth::Wide => f.write_str("2-byte tag/length"),
        }
    }
}

/// Reads and validates a header from the first 8 bytes of `buf`. `Ok(None)` when fewer than 8
/// bytes are available; an error when the declared length is 0 or over the maximum.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, DecodeError> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let msg_type = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len == 0 {
        return Err(DecodeError::EmptyMessage { msg_type });
    }
    if len as usize > MAX_BODY_LEN {
        return Err(DecodeError::TooLong {
            msg_type,
            len,
            max: MAX_BODY_LEN,
        });
    }
    Ok(Some(FrameHeader {
        body_len: len as usize,
        msg_type,
    }))
}

/// Splits one complete frame off the front of `buf`: `Ok(None)` if more bytes are needed,
/// else the header and the body slice. The frame occupies `header.frame_len()` bytes.
pub fn split_frame(buf: &[u8]) -> Result<Option<(FrameHeader, &[u8])>, DecodeError> {
    let Some(header) = parse_header(buf)? else {
        return Ok(None);
    };
    match buf.get(HEADER_LEN..header.frame_len()) {
        Some(body) => Ok(Some((header, body))),
        None => Ok(None),
    }
}

/// Splits exactly one frame from `buf`; a short buffer is an error (`Truncated`), not "need more".
pub fn split_complete_frame(buf: &[u8]) -> Result<(FrameHeader, &[u8]), DecodeError> {
    let Some(header) = parse_header(buf)? else {
        return Err(DecodeError::Truncated {
            what: "message header",
            offset: 0,
            need: HEADER_LEN,
            have: buf.len(),
        });
    };
    match buf.get(HEADER_LEN..header.frame_len()) {
        Some(body) => Ok((header, body)),
        None => Err(DecodeError::Truncated {
            what: "message body",
            offset: 0,
            need: header.body_len,
            have: buf.len() - HEADER_LEN,
        }),
    }
}

/// A bounded reassembly buffer for a byte stream: push what the socket returned, then take
/// complete frames. Holds at most one partial frame plus the last chunk pushed.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    start: usize,
}

impl FrameBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > MAX_MESSAGE_LEN {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame, `Ok(None)` if incomplete. After an error the stream is unusable.
    pub fn next_frame(&mut self) -> Result<Option<(FrameHeader, &[u8])>, DecodeError> {
        let rest = &self.buf[self.start..];
        let Some(header) = parse_header(rest)? else {
            return Ok(None);
        };
        if rest.len() < header.frame_len() {
            return Ok(None);
        }
        let body_start = self.start + HEADER_LEN;
        self.start += header.frame_len();
        Ok(Some((header, &self.buf[body_start..self.start])))
    }
}
