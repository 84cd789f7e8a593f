//! Webex Contact Center JSON: users, teams (v1 bare arrays, v2 `meta`/`data` envelopes) and
//! error bodies. Unknown fields are ignored (real answers carry dozens, and Cisco's own
//! `deafultDialledNumber` typo).

use crate::cloud::decode::{bool_default_true, null_as_default, opt_text, yes};
use crate::uccx::ApiError;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;

/// One Webex Contact Center user (agent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexUser {
    /// Immutable Contact Center user id.
    pub id: String,
    /// Common Identity (Webex) user id.
    #[serde(default, deserialize_with = "opt_text")]
    pub ci_user_id: Option<String>,
    /// E-mail (the login).
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, deserialize_with = "opt_text")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "opt_text")]
    pub last_name: Option<String>,
    /// Whether the user is active (missing = active).
    #[serde(default = "yes", deserialize_with = "bool_default_true")]
    pub active: bool,
    /// Site id.
    #[serde(default, deserialize_with = "opt_text")]
    pub site_id: Option<String>,
    /// Ids of the teams the user belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub team_ids: Vec<String>,
    /// Agent profile id.
    #[serde(default, deserialize_with = "opt_text")]
    pub agent_profile_id: Option<String>,
    /// External identifier (e.g. an HR id).
    #[serde(default, deserialize_with = "opt_text")]
    pub external_identifier: Option<String>,
    /// Whether Contact Center is enabled for the user.
    #[serde(default, deserialize_with = "null_as_default")]
    pub contact_center_enabled: Option<bool>,
}

/// One Webex Contact Center team.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexTeam {
    /// Immutable team id.
    pub id: String,
    /// Team name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `AGENT` or `CAPACITY`.
    #[serde(default, deserialize_with = "opt_text")]
    pub team_type: Option<String>,
    /// `IN_SERVICE` or `NOT_AVAILABLE`.
    #[serde(default, deserialize_with = "opt_text")]
    pub team_status: Option<String>,
    /// Site id.
    #[serde(default, deserialize_with = "opt_text")]
    pub site_id: Option<String>,
    /// Ids of the users in the team.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_ids: Vec<String>,
}

/// `meta.links` of a v2 envelope.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Links {
    /// The next page (relative or absolute), absent on the last page.
    #[serde(default, deserialize_with = "opt_text")]
    pub next: Option<String>,
}

/// `meta` of a v2 envelope.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// 0-based page number.
    #[serde(default)]
    pub page: Option<u64>,
    /// Page size the server used.
    #[serde(default)]
    pub page_size: Option<u64>,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: Option<u64>,
    /// Number of records.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// Paging links.
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: Links,
}

/// A list answer: a v1 bare array, or a v2 envelope (either is accepted on either version).
///
/// Decoded by the JSON shape (array or object) rather than as an untagged enum, so that an
/// error names what is wrong inside the chosen shape (`missing field `id``, `expected u64`)
/// instead of "data did not match any variant".
#[derive(Debug, Clone)]
pub enum ListBody<T> {
    /// v1: `[…]`.
    Bare(Vec<T>),
    /// v2: `{"meta":{…},"data":[…]}`.
    Envelope {
        /// Paging metadata.
        meta: Meta,
        /// The records.
        data: Vec<T>,
    },
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct EnvelopeBody<T> {
    #[serde(default, deserialize_with = "null_as_default")]
    meta: Meta,
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    data: Vec<T>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for ListBody<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        match value {
            serde_json::Value::Array(_) => Vec::<T>::deserialize(value)
                .map(ListBody::Bare)
                .map_err(D::Error::custom),
            serde_json::Value::Object(_) => EnvelopeBody::<T>::deserialize(value)
                .map(|e| ListBody::Envelope {
                    meta: e.meta,
                    data: e.data,
                })
                .map_err(|e| D::Error::custom(format!("v2 envelope: {e}"))),
            _ => Err(D::Error::custom(
                "expected a JSON array (v1) or a {\"meta\",\"data\"} object (v2)",
            )),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "trackingId")]
    tracking_id: Option<String>,
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    #[serde(default, deserialize_with = "opt_text")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    reason: Option<String>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

/// Decodes `{"trackingId","error":{"key","reason","message":[…]}}` (message entries may be
/// objects with `description` or plain strings). `None` when the body is not such an error.
pub fn decode_webex_error(body: &[u8]) -> Option<Vec<ApiError>> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let mut details = Vec::new();
    match parsed.error.message {
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                match item {
                    serde_json::Value::String(s) => details.push(s),
                    serde_json::Value::Object(o) => {
                        if let Some(d) = o.get("description").and_then(|d| d.as_str()) {
                            details.push(d.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(serde_json::Value::String(s)) => details.push(s),
        _ => {}
    }
    let mut message = parsed.error.reason.unwrap_or_default();
    if !details.is_empty() {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&details.join("; "));
    }
    Some(vec![ApiError {
        error_type: parsed.error.key,
        error_message: (!message.is_empty()).then_some(message),
        error_data: parsed.tracking_id.map(|t| format!("trackingId {t}")),
    }])
}
