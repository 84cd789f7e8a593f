//! Shared HTTP plumbing of every source: a `reqwest` client on rustls (ring provider, TLS 1.2/1.3
//! only, webpki roots plus an optional extra CA), classification of transport errors, a
//! size-bounded body reader and a retry loop with exponential back-off and jitter.

use crate::error::SourceError;
use rand::Rng;
use reqwest::Response;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How to build one upstream HTTP client.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Timeout of one request (connect + response + body).
    pub timeout: Duration,
    /// Extra CA certificate(s) (PEM) to trust besides the webpki roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Keep and resend cookies (AXL session reuse).
    pub cookies: bool,
}

/// Builds a `reqwest::Client` that only speaks TLS 1.2/1.3 with verified certificates, does not
/// follow redirects (a redirect is reported, never followed with credentials) and sends a fixed
/// user agent.
pub fn build_client(opts: &HttpOptions) -> Result<reqwest::Client, SourceError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &opts.ca_file {
        add_ca_file(&mut roots, path)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SourceError::Config {
            message: format!("cannot set up TLS: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(opts.cookies)
        .user_agent(concat!("wfm-importer/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SourceError::Config {
            message: format!("cannot build the HTTP client: {e}"),
        })
}

fn add_ca_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), SourceError> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| SourceError::Config {
        message: format!("cannot read ca_file {}: {e}", path.display()),
    })?;
    let mut added = 0usize;
    for cert in iter {
        let cert = cert.map_err(|e| SourceError::Config {
            message: format!("ca_file {} is not valid PEM: {e}", path.display()),
        })?;
        roots.add(cert).map_err(|e| SourceError::Config {
            message: format!(
                "ca_file {} holds an unusable certificate: {e}",
                path.display()
            ),
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(SourceError::Config {
            message: format!("ca_file {} holds no PEM certificate", path.display()),
        });
    }
    Ok(())
}

/// Maps a transport error from `reqwest` to a [`SourceError`] (timeout, TLS, connect).
pub fn classify_transport(url: &str, err: &reqwest::Error) -> SourceError {
    let detail = error_chain(err);
    if err.is_timeout() {
        return SourceError::Timeout {
            url: url.to_string(),
            detail,
        };
    }
    if has_tls_cause(err) {
        return SourceError::Tls {
            url: url.to_string(),
            detail,
        };
    }
    SourceError::Connect {
        url: url.to_string(),
        detail,
    }
}

fn has_tls_cause(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

/// The error and its causes on one line (URLs only, never headers).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Reads a response body, refusing more than `max_bytes` without buffering the excess.
///
/// The buffer is allocated once from `Content-Length` (already checked against `max_bytes`), so a
/// large body is not grown by doubling; without a length (chunked) it grows as usual but never
/// beyond `max_bytes`.
pub async fn read_body_limited(
    mut resp: Response,
    url: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, SourceError> {
    let too_large = || SourceError::TooLarge {
        what: url.to_string(),
        detail: format!("response body over {max_bytes} bytes"),
    };
    let declared = match resp.content_length() {
        Some(len) if len > max_bytes as u64 => return Err(too_large()),
        Some(len) => usize::try_from(len).unwrap_or(max_bytes),
        None => 0,
    };
    let mut body = Vec::with_capacity(declared);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_bytes {
                    return Err(too_large());
                }
                reserve_bounded(&mut body, chunk.len(), max_bytes);
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(classify_transport(url, &e)),
        }
    }
}

/// Makes room for `extra` more bytes: nothing when the buffer has room (the `Content-Length`
/// case), otherwise doubling as `Vec` does, capped at `max` (the caller has checked that
/// `len + extra <= max`).
fn reserve_bounded(buf: &mut Vec<u8>, extra: usize, max: usize) {
    let needed = buf.len() + extra;
    if needed <= buf.capacity() {
        return;
    }
    let target = buf
        .capacity()
        .saturating_mul(2)
        .max(needed)
        .max(8 * 1024)
        .min(max.max(needed));
    buf.reserve_exact(target - buf.len());
}

/// Retry policy: attempts = `retries + 1`; the delay before retry `n` (1-based) is
/// `base * 2^(n-1)`, capped at `max`, with half of it randomised (jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry.
    pub base: Duration,
    /// Largest delay between two attempts.
    pub max: Duration,
}

impl RetryPolicy {
    /// `retries` retries starting at 250 ms, capped at 10 s.
    pub fn new(retries: u32) -> Self {
        RetryPolicy {
            retries,
            base: Duration::from_millis(250),
            max: Duration::from_secs(10),
        }
    }

    /// The jittered delay before retry `n` (1-based): uniformly in `[d/2, d]`.
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        let full = self.base.saturating_mul(factor).min(self.max);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }
}

/// Runs `op` until it succeeds, fails with a non-retriable error, or `policy.retries` retries
/// are used up (then the last error is returned). Each retry is logged at warn with `what` and
/// the error text (which never holds secrets).
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut op: F,
) -> Result<T, SourceError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, SourceError>>,
{
    let mut attempt = 0u32;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retriable() && attempt < policy.retries => {
                attempt += 1;
                let delay = policy.delay(attempt);
                tracing::warn!(
                    target: "wfm_sources",
                    what,
                    attempt,
                    retries = policy.retries,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %e,
                    "upstream request failed, retrying"
                );
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn back_off_grows_exponentially_with_bounded_jitter() {
        let p = RetryPolicy::new(5);
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(125) && d1 <= Duration::from_millis(250));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(500) && d3 <= Duration::from_millis(1000));
            assert!(p.delay(30) <= Duration::from_secs(10));
        }
    }

    #[tokio::test]
    async fn retries_stop_after_the_budget_and_on_permanent_errors() {
        let p = RetryPolicy {
            retries: 2,
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
        };
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = with_retries(&p, "t", |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err(SourceError::Http5xx {
                    status: 503,
                    url: "u".into(),
                })
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let r: Result<(), _> = with_retries(&p, "t", |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(SourceError::malformed("x", "y")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn bounded_reserve_doubles_but_never_past_the_limit() {
        let mut buf = Vec::new();
        reserve_bounded(&mut buf, 10, 100);
        assert!(buf.capacity() >= 10 && buf.capacity() <= 100);
        buf.extend_from_slice(&[0; 10]);
        reserve_bounded(&mut buf, 80, 100);
        assert!(buf.capacity() >= 90 && buf.capacity() <= 100);
        let mut exact = Vec::with_capacity(50);
        reserve_bounded(&mut exact, 50, 1000);
        assert_eq!(exact.capacity(), 50, "a preallocated buffer is not grown");
    }

    #[tokio::test]
    async fn a_body_with_content_length_is_read_into_one_exact_allocation() {
        use crate::test_support::{serve, Canned};
        let payload = "x".repeat(300_000);
        let body = payload.clone();
        let srv = serve(move |_, _| Canned::new(200, "text/plain", body.clone())).await;
        let url = format!("http://{}/big", srv.addr);
        let client = build_client(&HttpOptions {
            timeout: Duration::from_secs(5),
            ca_file: None,
            cookies: false,
        })
        .unwrap();
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.content_length(), Some(300_000));
        let got = read_body_limited(resp, &url, 1 << 20).await.unwrap();
        assert_eq!(got.len(), 300_000);
        assert_eq!(got.capacity(), 300_000);
        assert_eq!(got, payload.as_bytes());
        let resp = client.get(&url).send().await.unwrap();
        let err = read_body_limited(resp, &url, 1000).await.unwrap_err();
        assert_eq!(err.error_type(), "too_large");
    }

    #[test]
    fn a_missing_ca_file_is_a_config_error() {
        let err = build_client(&HttpOptions {
            timeout: Duration::from_secs(1),
            ca_file: Some("/nonexistent/ca.pem".into()),
            cookies: false,
        })
        .unwrap_err();
        assert_eq!(err.error_type(), "config");
    }
}
