//! Just enough HTTP/1.1 request framing to answer requests with injected statuses.
//!
//! Frames requests on the client→upstream direction (head, then a
//! `Content-Length` or chunked body). Responses are not parsed: clients are
//! assumed not to pipeline (reqwest/hyper do not), so an injected response is
//! written to the client between upstream responses. Only works on plain HTTP.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::conn::{chunk_size, control_abort, forward, ConnCtx, Dir, End, Flow, MAX_CHUNK};
use crate::proxy::{Control, PendingStatus};
use crate::stats::bump;

/// Longest request head accepted before the connection is reset.
const MAX_HEAD: usize = 64 * 1024;

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked,
}

/// Buffered reader state for one connection's request stream.
struct Input<'a, R> {
    reader: &'a mut R,
    buf: Vec<u8>,
    control: watch::Receiver<Control>,
}

impl<R: AsyncRead + Unpin> Input<'_, R> {
    /// Reads more bytes; `Ok(false)` on EOF, `Err` when the connection must end.
    async fn fill(&mut self, ctx: &ConnCtx) -> Result<bool, End> {
        self.buf.reserve(MAX_CHUNK);
        loop {
            tokio::select! {
                read = self.reader.read_buf(&mut self.buf) => return match read {
                    Ok(0) => Ok(false),
                    Ok(_) => Ok(true),
                    Err(error) => {
                        tracing::debug!(%error, "proxy read failed");
                        Err(End::Reset)
                    }
                },
                changed = self.control.changed() => {
                    if changed.is_err() {
                        return Err(End::Reset);
                    }
                    if let Some(end) = control_abort(ctx, &self.control) {
                        return Err(end);
                    }
                }
            }
        }
    }

    /// Ensures at least one byte is buffered; a mid-request EOF ends the connection.
    async fn need(&mut self, ctx: &ConnCtx) -> Result<(), End> {
        while self.buf.is_empty() {
            if !self.fill(ctx).await? {
                return Err(End::Close);
            }
        }
        Ok(())
    }

    /// Reads one CRLF-terminated line (including the CRLF).
    async fn line(&mut self, ctx: &ConnCtx) -> Result<Vec<u8>, End> {
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.drain(..pos + 2).collect());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(End::Reset);
            }
            if !self.fill(ctx).await? {
                return Err(End::Close);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Parses the body framing from a request head; `None` for a malformed length.
fn body_of(head: &[u8]) -> Option<Body> {
    let text = String::from_utf8_lossy(head);
    let mut length = 0u64;
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().ends_with("chunked")
        {
            return Some(Body::Chunked);
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok()?;
        }
    }
    Some(Body::Length(length))
}

/// The canonical reason phrase for the statuses usually injected.
fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected",
    }
}

/// The bytes of an injected response.
pub(crate) fn response(status: PendingStatus) -> Vec<u8> {
    let body = "injected by wfm-faultproxy\n";
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n",
        status.code,
        reason(status.code),
        body.len()
    );
    if let Some(seconds) = status.retry_after {
        head.push_str(&format!("retry-after: {seconds}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    head.into_bytes()
}

/// Forwards requests client→upstream, answering some with injected statuses.
pub(crate) async fn pump_requests<R, W>(
    ctx: &ConnCtx,
    reader: &mut R,
    writer: &mut W,
    inject: mpsc::UnboundedSender<Vec<u8>>,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = Input {
        reader,
        buf: Vec::new(),
        control: ctx.shared.control.subscribe(),
    };
    let mut forwarded = 0u64;
    loop {
        match request(ctx, &mut input, writer, &inject, &mut forwarded).await {
            Ok(true) => continue,
            Ok(false) => {
                let _ = writer.shutdown().await;
                return End::Eof;
            }
            Err(end) => return end,
        }
    }
}

/// Handles one request; `Ok(false)` on a clean EOF between requests.
async fn request<R, W>(
    ctx: &ConnCtx,
    input: &mut Input<'_, R>,
    writer: &mut W,
    inject: &mpsc::UnboundedSender<Vec<u8>>,
    forwarded: &mut u64,
) -> Result<bool, End>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let head_len = loop {
        if let Some(pos) = find(&input.buf, b"\r\n\r\n") {
            break pos + 4;
        }
        if input.buf.len() > MAX_HEAD {
            tracing::debug!("request head too long; not HTTP?");
            return Err(End::Reset);
        }
        if !input.fill(ctx).await? {
            return if input.buf.is_empty() {
                Ok(false)
            } else {
                Err(End::Close)
            };
        }
    };
    let head: Vec<u8> = input.buf.drain(..head_len).collect();
    let Some(body) = body_of(&head) else {
        return Err(End::Reset);
    };
    let injected = ctx.shared.take_http_fault();
    let pass = injected.is_none();
    if pass {
        send(ctx, &head, writer, forwarded).await?;
    }
    match body {
        Body::Length(length) => copy_exact(ctx, input, writer, length, pass, forwarded).await?,
        Body::Chunked => loop {
            let size_line = input.line(ctx).await?;
            if pass {
                send(ctx, &size_line, writer, forwarded).await?;
            }
            let text = String::from_utf8_lossy(&size_line);
            let hex = text
                .trim()
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let Ok(size) = u64::from_str_radix(&hex, 16) else {
                return Err(End::Reset);
            };
            if size == 0 {
                loop {
                    let trailer = input.line(ctx).await?;
                    if pass {
                        send(ctx, &trailer, writer, forwarded).await?;
                    }
                    if trailer == b"\r\n" {
                        break;
                    }
                }
                break;
            }
            copy_exact(ctx, input, writer, size + 2, pass, forwarded).await?;
        },
    }
    if let Some(status) = injected {
        bump(&ctx.shared.counters.http_injected, 1);
        tracing::debug!(code = status.code, "injected HTTP status");
        if inject.send(response(status)).is_err() {
            return Err(End::Close);
        }
    }
    Ok(true)
}

/// Moves exactly `length` body bytes, forwarding them if `pass`, else discarding.
async fn copy_exact<R, W>(
    ctx: &ConnCtx,
    input: &mut Input<'_, R>,
    writer: &mut W,
    mut length: u64,
    pass: bool,
    forwarded: &mut u64,
) -> Result<(), End>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    while length > 0 {
        input.need(ctx).await?;
        let limit = chunk_size(&ctx.shared.control.borrow().mode);
        let take = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .min(input.buf.len())
            .min(limit);
        let piece: Vec<u8> = input.buf.drain(..take).collect();
        if pass {
            send(ctx, &piece, writer, forwarded).await?;
        }
        length -= take as u64;
    }
    Ok(())
}

async fn send<W>(ctx: &ConnCtx, data: &[u8], writer: &mut W, forwarded: &mut u64) -> Result<(), End>
where
    W: AsyncWrite + Unpin,
{
    match forward(ctx, Dir::ToUpstream, data, writer, forwarded).await {
        Flow::Continue => Ok(()),
        Flow::End(end) => Err(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_framing_is_parsed_from_headers() {
        assert_eq!(
            body_of(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
            Some(Body::Length(0))
        );
        assert_eq!(
            body_of(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
            Some(Body::Length(12))
        );
        assert_eq!(
            body_of(b"POST / HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n"),
            Some(Body::Chunked)
        );
        assert_eq!(
            body_of(b"POST / HTTP/1.1\r\ncontent-length: x\r\n\r\n"),
            None
        );
    }

    #[test]
    fn injected_response_carries_retry_after() {
        let bytes = response(PendingStatus {
            code: 429,
            retry_after: Some(7),
        });
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert!(text.contains("retry-after: 7\r\n"));
    }
}
