//! Microsoft Graph JSON: OData pages of users, groups and group members, and
//! `{"error":{"code","message"}}` errors. Unknown fields are ignored.

use crate::cloud::decode::{null_as_default, opt_text};
use crate::uccx::ApiError;
use serde::Deserialize;

/// The `@odata.type` of a user in a member listing.
pub const USER_TYPE: &str = "#microsoft.graph.user";

/// One Microsoft Graph user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    /// Immutable object id.
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "opt_text")]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(default, deserialize_with = "opt_text")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "opt_text")]
    pub surname: Option<String>,
    /// Primary SMTP address.
    #[serde(default, deserialize_with = "opt_text")]
    pub mail: Option<String>,
    /// Sign-in name (`user@tenant`).
    #[serde(default, deserialize_with = "opt_text")]
    pub user_principal_name: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "opt_text")]
    pub job_title: Option<String>,
}

/// One group with its user members' ids (filled by a members listing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphGroup {
    /// Immutable object id.
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Ids of the members that are users (not part of the group list answer).
    #[serde(default, skip_deserializing)]
    pub member_ids: Vec<String>,
}

/// One entry of `GET /groups/{id}/members` (users, groups, devices, service principals…).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GraphMember {
    /// `@odata.type`, e.g. `#microsoft.graph.user`.
    #[serde(default, rename = "@odata.type", deserialize_with = "opt_text")]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
}

impl GraphMember {
    /// Whether the member is a user (a missing type counts as a user).
    pub fn is_user(&self) -> bool {
        self.odata_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(USER_TYPE))
    }
}

/// One OData page.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ODataPage<T> {
    /// The records.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub value: Vec<T>,
    /// The next page, to follow verbatim; absent on the last page.
    #[serde(default, rename = "@odata.nextLink", deserialize_with = "opt_text")]
    pub next_link: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorInner {
    #[serde(default, deserialize_with = "opt_text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    message: Option<String>,
    #[serde(default)]
    inner_error: Option<serde_json::Value>,
}

/// Decodes `{"error":{"code","message","innerError":{"request-id"}}}`; `None` otherwise.
pub fn decode_graph_error(body: &[u8]) -> Option<Vec<ApiError>> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let request_id = parsed
        .error
        .inner_error
        .as_ref()
        .and_then(|v| v.get("request-id"))
        .and_then(|v| v.as_str())
        .map(|r| format!("request-id {r}"));
    Some(vec![ApiError {
        error_type: parsed.error.code,
        error_message: parsed.error.message,
        error_data: request_id,
    }])
}
