//! The bulk transport (see [`wfm_protocol::bulk`]): a batch larger than `[hub]
//! bulk_threshold_bytes` is not POSTed to its route; the importer asks the hub for a pre-signed
//! upload URL and a fresh data key, encrypts the batch with that key (AES-256-GCM bound to the
//! upload id, so object storage only ever holds ciphertext), PUTs it straight to object storage
//! (the importer never holds storage credentials), then asks the hub to ingest it with the
//! batch's own `Idempotency-Key`. The hub answers exactly what the direct route would.
//!
//! A hub without bulk transfers (404 on the upload request) gets the batch on its direct route.
//! Every failure of the upload itself (object storage unreachable, URL expired, upload lost or
//! damaged in transit) is retried with a new upload; only the direct route's own verdict on the
//! batch is final.

use crate::delivery::{classify, retry_after, Outcome, Reply, Target};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::Duration;
use wfm_crypto::{Cipher, DataKey, DataKeyId, KEY_LEN};
use wfm_protocol::bulk::{
    bulk_aad, bulk_key_id, ingest_path, BulkRoute, BulkUploadRequest, BulkUploadResponse,
    BULK_UPLOADS,
};
use wfm_protocol::{ErrorBody, IDEMPOTENCY_KEY_HEADER};

/// What a bulk attempt came to.
#[derive(Debug)]
pub enum BulkAttempt {
    /// The hub answered the ingest (or the attempt failed): the reply to act on.
    Done(Reply),
    /// The hub has no bulk transfers (404 on the upload request): send the batch directly.
    Unavailable(String),
}

/// True when a payload of `len` bytes goes through the bulk path (`threshold` 0 = never).
pub fn wants_bulk(threshold: u64, len: usize) -> bool {
    threshold > 0 && len as u64 > threshold
}

/// Lowercase hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Sends `request` to the hub and reads its answer: status, `Retry-After` (at most
/// `retry_max`) and body; the retry to answer when the hub is unreachable or the answer unread.
async fn exchange(
    request: reqwest::RequestBuilder,
    retry_max: Duration,
) -> Result<(u16, Option<Duration>, bytes::Bytes), BulkAttempt> {
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(retry(format!("hub unreachable: {e}"))),
    };
    let status = resp.status().as_u16();
    let after = retry_after(&resp, retry_max);
    match resp.bytes().await {
        Ok(body) => Ok((status, after, body)),
        Err(e) => Err(retry(format!("reading the hub's answer: {e}"))),
    }
}

fn retry(reason: String) -> BulkAttempt {
    BulkAttempt::Done(Reply {
        outcome: Outcome::Retry(None, reason),
        status: 0,
        body: Vec::new(),
    })
}

/// The error code of an `ErrorBody` answer, if it is one.
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error.code)
}

/// Delivers one batch through object storage: upload request, encrypted `PUT`, ingest with
/// `idempotency_key`. Answers [`BulkAttempt::Unavailable`] when the hub has no bulk transfers.
pub async fn deliver_bulk(
    target: &Target,
    route: BulkRoute,
    idempotency_key: &str,
    payload: &[u8],
    retry_max: Duration,
) -> BulkAttempt {
    let ask = BulkUploadRequest {
        route,
        bytes: payload.len() as u64,
        sha256: sha256_hex(payload),
    };
    let url = format!("{}{}", target.base, BULK_UPLOADS);
    let request = target
        .http
        .post(&url)
        .bearer_auth(target.token.expose())
        .json(&ask);
    let (status, after, body) = match exchange(request, retry_max).await {
        Ok(answer) => answer,
        Err(attempt) => return attempt,
    };
    if status == 404 {
        return BulkAttempt::Unavailable(format!(
            "the hub has no bulk transfers ({})",
            error_code(&body).unwrap_or_else(|| "HTTP 404".to_string())
        ));
    }
    if status != 201 {
        return BulkAttempt::Done(Reply {
            outcome: classify(status, &body, after),
            status,
            body: body.to_vec(),
        });
    }
    let grant: BulkUploadResponse = match serde_json::from_slice(&body) {
        Ok(g) => g,
        Err(e) => {
            return retry(format!(
                "the hub's bulk upload answer is not understood ({e}); are importer and hub the same version?"
            ))
        }
    };
    let blob = match encrypt(&grant, payload) {
        Ok(b) => b,
        Err(reason) => return retry(reason),
    };
    if let Err(reason) = upload(target, &grant, blob).await {
        return retry(reason);
    }
    ingest(target, &grant, idempotency_key, retry_max).await
}

/// Encrypts the batch with the granted key, bound to the upload id.
fn encrypt(grant: &BulkUploadResponse, payload: &[u8]) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&grant.data_key)
        .ok()
        .and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok());
    let Some(bytes) = bytes else {
        return Err("the hub's bulk data key is not 32 bytes of base64".to_string());
    };
    let Ok(id) = DataKeyId::new(bulk_key_id(&grant.upload_id)) else {
        return Err(format!(
            "the hub's upload id '{}' is not usable",
            grant.upload_id
        ));
    };
    let key = DataKey::from_bytes(id, &bytes);
    Cipher::new(&key)
        .encrypt(payload, &bulk_aad(&grant.upload_id))
        .map_err(|e| format!("cannot encrypt the batch: {e}"))
}

/// Time allowed for the `PUT` of `len` bytes: 2 minutes plus 1 second per MiB (at least
/// 1 MiB/s), since the client's per-request timeout is sized for ordinary hub calls.
fn upload_timeout(len: usize) -> Duration {
    Duration::from_secs(120 + (len as u64 >> 20))
}

/// `PUT`s the ciphertext to the pre-signed URL (no hub token goes to object storage).
async fn upload(target: &Target, grant: &BulkUploadResponse, blob: Vec<u8>) -> Result<(), String> {
    let timeout = upload_timeout(blob.len());
    let sent = target
        .http
        .put(&grant.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(blob)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Err(format!("object storage unreachable: {}", without_query(&e))),
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    Err(format!(
        "object storage refused the upload: HTTP {}: {}",
        status.as_u16(),
        text.chars().take(200).collect::<String>()
    ))
}

/// A transport error without the URL's query (the signature is a credential).
fn without_query(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        let full = url.as_str();
        let mut bare = url.clone();
        bare.set_query(None);
        text = text.replace(full, bare.as_str());
    }
    text
}

/// Asks the hub to ingest the uploaded object; maps the bulk-specific failures to retries.
async fn ingest(
    target: &Target,
    grant: &BulkUploadResponse,
    idempotency_key: &str,
    retry_max: Duration,
) -> BulkAttempt {
    let url = format!("{}{}", target.base, ingest_path(&grant.upload_id));
    let request = target
        .http
        .post(&url)
        .bearer_auth(target.token.expose())
        .header(IDEMPOTENCY_KEY_HEADER, idempotency_key);
    let (status, after, body) = match exchange(request, retry_max).await {
        Ok(answer) => answer,
        Err(attempt) => return attempt,
    };
    let code = error_code(&body);
    let upload_failed = matches!(
        code.as_deref(),
        Some("upload_missing" | "upload_expired" | "upload_corrupt" | "upload_conflict")
    );
    let outcome = if upload_failed {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
        Outcome::Retry(
            after,
            format!("bulk upload failed, uploading again: HTTP {status}: {text}"),
        )
    } else {
        classify(status, &body, after)
    };
    BulkAttempt::Done(Reply {
        outcome,
        status,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_zero_means_never() {
        assert!(!wants_bulk(0, 1 << 30));
        assert!(!wants_bulk(100, 100));
        assert!(wants_bulk(100, 101));
    }

    #[test]
    fn large_uploads_get_more_time() {
        assert_eq!(upload_timeout(10), Duration::from_secs(120));
        assert_eq!(upload_timeout(1 << 30), Duration::from_secs(120 + 1024));
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn encryption_is_bound_to_the_upload() {
        let grant = BulkUploadResponse {
            upload_id: "u-1".into(),
            url: "http://127.0.0.1:1/b/k".into(),
            method: "PUT".into(),
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
            data_key: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        };
        let blob = encrypt(&grant, b"{\"a\":1}").unwrap_or_default();
        assert_eq!(
            blob.len() as u64,
            wfm_protocol::bulk::encrypted_len("u-1", 7)
        );
        let key = DataKey::from_bytes(DataKeyId::new(bulk_key_id("u-1")).unwrap(), &[7u8; 32]);
        let cipher = Cipher::new(&key);
        assert!(cipher.decrypt(&blob, &bulk_aad("u-1")).is_ok());
        assert!(cipher.decrypt(&blob, &bulk_aad("u-2")).is_err());
        let bad = BulkUploadResponse {
            data_key: "c2hvcnQ=".into(),
            ..grant
        };
        assert!(encrypt(&bad, b"x").is_err());
    }
}
