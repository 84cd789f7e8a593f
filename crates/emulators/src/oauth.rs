//! What the cloud emulators (Webex CC, Zoom, Microsoft Graph) share: the OAuth 2.0
//! client-credentials token endpoint `POST /oauth/token`, bearer-token checks (expiry, scope, a
//! static token), "429 every N requests" rate limiting, and [`CloudControl`], the runtime handle
//! a test keeps to change fault modes or expire tokens while the emulator runs.
//!
//! It renders no platform error body itself: each emulator passes its own renderer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use rand::Rng;
use serde_json::json;

use crate::paging::FaultKnobs;

/// Path of the token endpoint on every cloud emulator.
pub const TOKEN_PATH: &str = "/oauth/token";

/// OAuth client-credentials settings of one cloud emulator.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Client id accepted by the token endpoint (default `wfm-demo-client`).
    pub client_id: String,
    /// Client secret accepted by the token endpoint (default `wfm-demo-secret`).
    pub client_secret: String,
    /// A bearer token that is always valid and carries every granted scope (default
    /// `wfm-demo-static-token`); `None` disables it.
    pub static_token: Option<String>,
    /// Lifetime of issued tokens, reported as `expires_in` (default 3600 s).
    pub token_lifetime: Duration,
    /// Scopes this client may obtain; a token request without `scope` gets all of them, one
    /// asking for any other scope gets 400 `invalid_scope`.
    pub granted_scopes: Vec<String>,
    /// Scope the API requires on the token (Webex: `cjp:config_read`); missing → 403.
    pub required_scope: Option<String>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            client_id: "wfm-demo-client".into(),
            client_secret: "wfm-demo-secret".into(),
            static_token: Some("wfm-demo-static-token".into()),
            token_lifetime: Duration::from_secs(3600),
            granted_scopes: Vec::new(),
            required_scope: None,
        }
    }
}

#[derive(Debug)]
struct Issued {
    expires: Instant,
    scopes: Vec<String>,
}

#[derive(Debug, Default)]
struct ControlInner {
    knobs: Mutex<FaultKnobs>,
    tokens: Mutex<HashMap<String, Issued>>,
    api_requests: AtomicUsize,
}

/// Runtime control of a cloud emulator: fault modes and issued tokens. Cheap to clone (shared);
/// keep a clone of the config's `control` before spawning to change things while it runs.
#[derive(Clone, Debug, Default)]
pub struct CloudControl(Arc<ControlInner>);

impl CloudControl {
    fn knobs_lock(&self) -> MutexGuard<'_, FaultKnobs> {
        self.0.knobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tokens_lock(&self) -> MutexGuard<'_, HashMap<String, Issued>> {
        self.0.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the fault modes (applies from the next request).
    pub fn set_faults(&self, change: impl FnOnce(&mut FaultKnobs)) {
        change(&mut self.knobs_lock());
    }

    /// A copy of the current fault modes.
    pub fn faults(&self) -> FaultKnobs {
        self.knobs_lock().clone()
    }

    /// Turns every fault mode off.
    pub fn clear_faults(&self) {
        *self.knobs_lock() = FaultKnobs::default();
    }

    /// Makes every token issued so far expired (the static token is not affected).
    pub fn expire_tokens(&self) {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for t in self.tokens_lock().values_mut() {
            t.expires = past;
        }
    }

    /// Number of tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.tokens_lock().len()
    }

    /// Number of authenticated API requests counted by the rate limiter so far.
    pub fn api_requests(&self) -> usize {
        self.0.api_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn with_knobs<T>(&self, f: impl FnOnce(&mut FaultKnobs) -> T) -> T {
        f(&mut self.knobs_lock())
    }

    fn issue(&self, lifetime: Duration, scopes: Vec<String>) -> String {
        let bytes: [u8; 24] = rand::thread_rng().gen();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let issued = Issued {
            expires: Instant::now() + lifetime,
            scopes,
        };
        self.tokens_lock().insert(token.clone(), issued);
        token
    }

    /// `Some(retry_after_secs)` when this API request must be answered 429.
    fn throttle(&self) -> Option<u64> {
        let n = self.0.api_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let mut k = self.knobs_lock();
        if k.throttle_next > 0 {
            k.throttle_next -= 1;
            return Some(k.retry_after_secs);
        }
        match k.throttle_every {
            Some(every) if every > 0 && n.is_multiple_of(every) => Some(k.retry_after_secs),
            _ => None,
        }
    }
}

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A token this emulator never issued.
    Invalid,
    /// An issued token past its lifetime.
    Expired,
    /// A valid token without the required scope (403).
    Scope,
}

/// A request the guard refuses before it reaches the API routes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Problem {
    /// 401 (or 403 for a missing scope).
    Auth(AuthFailure),
    /// 429; the guard adds `Retry-After` itself.
    Throttled,
}

/// Renders a platform-specific error body for a refused request.
pub(crate) type ProblemRenderer = fn(Problem) -> Response;

/// State of the token endpoint and of the bearer guard.
pub(crate) struct Guard {
    pub auth: OAuthConfig,
    pub control: CloudControl,
    pub render: ProblemRenderer,
}

impl Guard {
    fn check(&self, headers: &HeaderMap) -> Result<(), AuthFailure> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
        else {
            return Err(AuthFailure::Missing);
        };
        if self.auth.static_token.as_deref() == Some(token) {
            return Ok(());
        }
        let tokens = self.control.tokens_lock();
        let Some(issued) = tokens.get(token) else {
            return Err(AuthFailure::Invalid);
        };
        if issued.expires <= Instant::now() {
            return Err(AuthFailure::Expired);
        }
        if let Some(scope) = &self.auth.required_scope {
            if !issued.scopes.contains(scope) {
                return Err(AuthFailure::Scope);
            }
        }
        Ok(())
    }
}

/// Adds `POST /oauth/token` and the bearer/rate-limit guard in front of `api`.
pub(crate) fn wrap(api: Router, guard: Guard) -> Router {
    let guard = Arc::new(guard);
    Router::new()
        .route(TOKEN_PATH, post(token_endpoint))
        .with_state(guard.clone())
        .merge(api)
        .layer(middleware::from_fn_with_state(guard, guard_layer))
}

async fn guard_layer(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if req.uri().path() == TOKEN_PATH {
        return next.run(req).await;
    }
    if let Err(f) = g.check(req.headers()) {
        return (g.render)(Problem::Auth(f));
    }
    if let Some(secs) = g.control.throttle() {
        let mut resp = (g.render)(Problem::Throttled);
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return resp;
    }
    next.run(req).await
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
pub(crate) fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes a query or form component (`+` is a space); bad escapes stay as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((percent_decode(id), percent_decode(secret)))
}

async fn token_endpoint(
    State(g): State<Arc<Guard>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Zoom sends `grant_type`/`account_id` in the query string; the body wins on a clash.
    let mut form = query.as_deref().map(parse_form).unwrap_or_default();
    form.extend(parse_form(&String::from_utf8_lossy(&body)));
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    if grant != "client_credentials" && grant != "account_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let (id, secret) = match basic_client(&headers) {
        Some(pair) => pair,
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != g.auth.client_id || secret != g.auth.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let scopes: Vec<String> = match form.get("scope") {
        Some(s) if !s.trim().is_empty() => s.split_whitespace().map(str::to_string).collect(),
        _ => g.auth.granted_scopes.clone(),
    };
    if let Some(bad) = scopes.iter().find(|s| !g.auth.granted_scopes.contains(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope {bad} is not granted to this client"),
        );
    }
    let lifetime = g.auth.token_lifetime;
    let token = g.control.issue(lifetime, scopes.clone());
    let expires_in = lifetime.as_secs_f64().ceil() as u64;
    let body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scopes.join(" "),
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_handles_plus_and_escapes() {
        let f = parse_form("grant_type=client_credentials&scope=a+b%3Ac&x=%zz&y");
        assert_eq!(f["grant_type"], "client_credentials");
        assert_eq!(f["scope"], "a b:c");
        assert_eq!(f["x"], "%zz");
        assert_eq!(f["y"], "");
        assert_eq!(percent_decode("50%"), "50%");
    }
}
