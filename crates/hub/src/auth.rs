//! Bearer-token authentication: a token maps to exactly one project.
//!
//! Tokens are kept in memory only as SHA-256 digests and compared in constant time against every
//! project (no early exit), so neither timing nor the answer tells a caller which projects exist.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use wfm_config::ProjectConfig;
use wfm_model::ProjectId;

/// The configured projects and the SHA-256 digests of their tokens.
pub struct ProjectTokens {
    entries: Vec<(ProjectId, [u8; 32])>,
}

impl std::fmt::Debug for ProjectTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.entries.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("ProjectTokens")
            .field("projects", &ids)
            .finish()
    }
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
        ProjectTokens { entries }
    }

    /// Builds the table from the `[[projects]]` of the hub config.
    pub fn from_config(projects: &[ProjectConfig]) -> Self {
        Self::new(projects.iter().map(|p| (p.id.clone(), p.token.expose())))
    }

    /// The configured project ids, in config order.
    pub fn projects(&self) -> impl Iterator<Item = &ProjectId> {
        self.entries.iter().map(|(id, _)| id)
    }

    /// The project a token belongs to, if any. Compares against every project in constant time.
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

/// Extractor: the project of the request's bearer token; rejects with 401 `unauthorized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project(pub ProjectId);

impl FromRequestParts<AppState> for Project {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            tracing::info!(
                path = parts.uri.path(),
                "authentication failed: no Authorization header"
            );
            return Err(ApiError::unauthorized(
                "missing bearer token: send `Authorization: Bearer <project token>`",
            ));
        };
        let token = value.to_str().ok().and_then(bearer_token);
        let Some(token) = token else {
            tracing::info!(
                path = parts.uri.path(),
                "authentication failed: not a bearer token"
            );
            return Err(ApiError::unauthorized(
                "malformed Authorization header: expected `Bearer <project token>`",
            ));
        };
        match state.projects.authenticate(token) {
            Some(project) => {
                tracing::debug!(project = %project, "authenticated");
                Ok(Project(project))
            }
            None => {
                tracing::info!(
                    path = parts.uri.path(),
                    "authentication failed: unknown token"
                );
                Err(ApiError::unauthorized(
                    "invalid bearer token: check the project token configured in the importer",
                ))
            }
        }
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
}
