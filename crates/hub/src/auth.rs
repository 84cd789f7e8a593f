//! Bearer-token authentication and authorization: a token maps to exactly one project and a set
//! of scopes; every attempt is rate-limited per client address on failure and recorded in the
//! audit log.
//!
//! Two kinds of tokens:
//! - tokens issued with `wfm-hub token issue`: looked up in the store by their SHA-256 digest
//!   (unique index) on every request, so expiry and revocation take effect at once, also for
//!   other hub processes on the same database;
//! - legacy `[[projects]] token`s of `hub.toml`: kept in memory only as SHA-256 digests,
//!   compared in constant time against every project (no early exit); they hold every scope.
//!
//! Expired, revoked, unknown, missing and malformed tokens all get the same 401 body; only the
//! audit log says which. A token without the scope a route needs ([`required_scope`]) gets 403
//! naming the scope.

pub use crate::admin::limit::FailureLimiter;
pub use crate::admin::scope::{audit_action, required_scope, Scope};

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use time::OffsetDateTime;
use wfm_config::ProjectConfig;
use wfm_model::ProjectId;
use wfm_store::AuditEvent;

/// The one 401 message, whatever the reason.
pub const UNAUTHORIZED_MESSAGE: &str = "missing or invalid bearer token: send \
    `Authorization: Bearer <token>` with a valid, unexpired and unrevoked token of your project";

/// How often `last_used_at` of a token is updated at most.
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);

/// The configured projects, the SHA-256 digests of their legacy tokens, and the failed-attempt
/// limiter.
pub struct ProjectTokens {
    entries: Vec<(ProjectId, [u8; 32])>,
    limiter: FailureLimiter,
}

impl std::fmt::Debug for ProjectTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.entries.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("ProjectTokens")
            .field("projects", &ids)
            .finish()
    }
}

/// Lowercase hex SHA-256 of a token: what the store keeps.
pub fn token_digest_hex(token: &str) -> String {
    digest(token).iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl ProjectTokens {
    /// Builds the table from `(project, token)` pairs; the tokens are hashed at once.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (ProjectId, &'a str)>) -> Self {
        let entries = pairs
            .into_iter()
            .map(|(id, token)| (id, digest(token)))
            .collect();
        ProjectTokens {
            entries,
            limiter: FailureLimiter::default(),
        }
    }

    /// Builds the table from the `[[projects]]` of the hub config.
    pub fn from_config(projects: &[ProjectConfig]) -> Self {
        Self::new(projects.iter().map(|p| (p.id.clone(), p.token.expose())))
    }

    /// Replaces the failed-attempt limiter (tests use a small one).
    pub fn with_limiter(mut self, limiter: FailureLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// The failed-attempt limiter.
    pub fn limiter(&self) -> &FailureLimiter {
        &self.limiter
    }

    /// The configured project ids, in config order.
    pub fn projects(&self) -> impl Iterator<Item = &ProjectId> {
        self.entries.iter().map(|(id, _)| id)
    }

    /// The project a legacy config token belongs to, if any. Compares against every project in
    /// constant time.
    pub fn authenticate(&self, token: &str) -> Option<ProjectId> {
        let presented = digest(token);
        let mut matched = subtle::Choice::from(0u8);
        let mut index = 0u64;
        for (i, (_, stored)) in self.entries.iter().enumerate() {
            let equal = presented.ct_eq(stored);
            index.conditional_assign(&(i as u64), equal);
            matched |= equal;
        }
        if !bool::from(matched) {
            return None;
        }
        let index = usize::try_from(index).ok()?;
        self.entries.get(index).map(|(id, _)| id.clone())
    }
}

/// The bearer token from an `Authorization` header value, if it has the `Bearer` scheme.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() {
        None
    } else {
        Some(token)
    }
}

/// Who made an authenticated request (also put into the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's project.
    pub project: ProjectId,
    /// The token id (`config:<project>` for a legacy config token).
    pub token_id: String,
    /// The token's scopes.
    pub scopes: Vec<Scope>,
}

/// Why authentication failed (the audit outcome `failure:<reason>`; never told to callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`.
    Malformed,
    /// No such token.
    Unknown,
    /// The token expired.
    Expired,
    /// The token was revoked.
    Revoked,
}

impl Failure {
    /// The audit reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Missing => "missing",
            Failure::Malformed => "malformed",
            Failure::Unknown => "unknown",
            Failure::Expired => "expired",
            Failure::Revoked => "revoked",
        }
    }
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Resolves a presented token (legacy config tokens first, then the store by digest).
async fn resolve(
    state: &AppState,
    token: &str,
    now: OffsetDateTime,
) -> Result<Result<Principal, (Failure, Option<Principal>)>, ApiError> {
    if let Some(project) = state.projects.authenticate(token) {
        return Ok(Ok(Principal {
            token_id: format!("config:{project}"),
            project,
            scopes: Scope::ALL.to_vec(),
        }));
    }
    let Some(row) = state
        .store
        .api_token_by_digest(&token_digest_hex(token))
        .await?
    else {
        return Ok(Err((Failure::Unknown, None)));
    };
    let Ok(project) = ProjectId::new(&row.project_id) else {
        return Ok(Err((Failure::Unknown, None)));
    };
    let principal = Principal {
        project,
        token_id: row.id.clone(),
        scopes: row.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
    };
    if row.revoked_at.is_some() {
        return Ok(Err((Failure::Revoked, Some(principal))));
    }
    if let Some(expires) = row.expires_at.as_deref() {
        let expired = match parse_time(expires) {
            Some(at) => now >= at,
            None => true,
        };
        if expired {
            return Ok(Err((Failure::Expired, Some(principal))));
        }
    }
    let stale = match row.last_used_at.as_deref().and_then(parse_time) {
        Some(at) => now - at >= TOUCH_EVERY,
        None => true,
    };
    if stale {
        state.store.touch_api_token(&row.id, now).await?;
    }
    Ok(Ok(principal))
}

/// The client address of a request (`0.0.0.0:0` when the server gave none, as in `oneshot`).
pub fn client_addr(parts: &Parts) -> SocketAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

/// Writes one audit entry; a failure to write refuses the request (an entry is never lost).
pub async fn audit(state: &AppState, event: AuditEvent) -> Result<(), ApiError> {
    match state.store.append_audit(&event).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, action = %event.action, "cannot write the audit log");
            Err(ApiError::from_store(e))
        }
    }
}

/// Authenticates and authorizes a request: the principal, or the 401/403/429 to answer. Every
/// attempt is audited.
pub async fn authorize(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    let now = (state.clock)();
    let addr = client_addr(parts);
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let needed = required_scope(&parts.method, &route);
    let action = audit_action(&parts.method, &route);
    let mut event = AuditEvent {
        at: Some(now),
        project: None,
        principal: None,
        source: Some(addr.to_string()),
        action: action.to_string(),
        outcome: String::new(),
        detail: Some(format!("{} {}", parts.method, parts.uri.path())),
    };
    let presented = match parts.headers.get(header::AUTHORIZATION) {
        None => Err((Failure::Missing, None)),
        Some(value) => match value.to_str().ok().and_then(bearer_token) {
            None => Err((Failure::Malformed, None)),
            Some(token) => resolve(state, token, now).await?,
        },
    };
    let principal = match presented {
        Ok(principal) => principal,
        Err((failure, known)) => {
            if let Some(p) = known {
                event.project = Some(p.project.to_string());
                event.principal = Some(p.token_id);
            }
            let limited = state
                .projects
                .limiter()
                .record_failure(addr.ip(), Instant::now());
            event.outcome = match limited {
                Some(_) => format!("failure:{}:rate_limited", failure.as_str()),
                None => format!("failure:{}", failure.as_str()),
            };
            tracing::info!(
                path = parts.uri.path(),
                source = %addr,
                reason = failure.as_str(),
                "authentication failed"
            );
            audit(state, event).await?;
            if let Some(seconds) = limited {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many failed authentication attempts from this address; retry \
                         after {seconds} s with a valid token"
                    ),
                );
                e.retry_after = Some(seconds);
                return Err(e);
            }
            return Err(ApiError::unauthorized(UNAUTHORIZED_MESSAGE));
        }
    };
    event.project = Some(principal.project.to_string());
    event.principal = Some(principal.token_id.clone());
    if let Some(scope) = needed {
        if !scope.is_granted_by(&principal.scopes) {
            event.outcome = format!("denied:needs_{scope}");
            audit(state, event).await?;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this token lacks the `{scope}` scope that {} {route} needs: issue one with \
                     `wfm-hub token issue --project {} --scope {scope}`",
                    parts.method, principal.project
                ),
            ));
        }
    }
    event.outcome = "success".to_string();
    audit(state, event).await?;
    tracing::debug!(project = %principal.project, token = %principal.token_id, "authenticated");
    parts.extensions.insert(principal.clone());
    Ok(principal)
}

/// Extractor: the project of the request's bearer token, after checking the scope the route
/// needs ([`required_scope`]); rejects with 401 `unauthorized`, 403 `forbidden` or 429
/// `rate_limited`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project(pub ProjectId);

impl FromRequestParts<AppState> for Project {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Project(principal.project.clone()));
        }
        authorize(parts, state).await.map(|p| Project(p.project))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ProjectId {
        ProjectId::new(s).unwrap()
    }

    #[test]
    fn tokens_map_to_their_project_only() {
        let t = ProjectTokens::new([(id("a"), "token-a"), (id("b"), "token-b")]);
        assert_eq!(t.authenticate("token-a"), Some(id("a")));
        assert_eq!(t.authenticate("token-b"), Some(id("b")));
        assert_eq!(t.authenticate("token-c"), None);
        assert_eq!(t.authenticate(""), None);
    }

    #[test]
    fn debug_never_shows_digests() {
        let t = ProjectTokens::new([(id("a"), "token-a")]);
        let text = format!("{t:?}");
        assert!(text.contains("\"a\""));
        assert!(!text.contains("token-a"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn digests_are_lowercase_hex_sha256() {
        assert_eq!(
            token_digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
