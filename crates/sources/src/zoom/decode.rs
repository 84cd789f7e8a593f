//! Zoom JSON: users, groups, group members and `{"code","message"}` errors. Unknown fields are
//! ignored; ids and codes may be strings or numbers.

use crate::cloud::decode::{null_as_default, opt_text};
use crate::uccx::ApiError;
use serde::Deserialize;

/// One Zoom user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoomUser {
    /// Immutable user id.
    pub id: String,
    /// Given name.
    #[serde(default, deserialize_with = "opt_text")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "opt_text")]
    pub last_name: Option<String>,
    /// Display name.
    #[serde(default, deserialize_with = "opt_text")]
    pub display_name: Option<String>,
    /// E-mail (the login).
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    /// `type`: 1 basic, 2 licensed, …
    #[serde(default, rename = "type", deserialize_with = "opt_text")]
    pub user_type: Option<String>,
    /// Department.
    #[serde(default, deserialize_with = "opt_text")]
    pub dept: Option<String>,
    /// `active`, `inactive` or `pending`.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    /// Role id.
    #[serde(default, deserialize_with = "opt_text")]
    pub role_id: Option<String>,
    /// Ids of the groups the user belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_ids: Vec<String>,
}

/// One Zoom group with its members' user ids (filled by a members listing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoomGroup {
    /// Immutable group id.
    pub id: String,
    /// Group name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Member count as the group list reports it.
    #[serde(default)]
    pub total_members: Option<u64>,
    /// User ids of the members (not part of the group list answer).
    #[serde(default, skip_deserializing)]
    pub member_ids: Vec<String>,
}

/// One entry of `GET /v2/groups/{id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoomMember {
    /// The member's user id.
    pub id: String,
    /// E-mail.
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
}

/// A page of users.
#[derive(Debug, Deserialize)]
pub struct UsersPage {
    /// The users.
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<ZoomUser>,
    /// The next page's token; empty or missing on the last page.
    #[serde(default, deserialize_with = "opt_text")]
    pub next_page_token: Option<String>,
}

/// A page of groups.
#[derive(Debug, Deserialize)]
pub struct GroupsPage {
    /// The groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<ZoomGroup>,
    /// The next page's token; empty or missing on the last page.
    #[serde(default, deserialize_with = "opt_text")]
    pub next_page_token: Option<String>,
}

/// A page of group members.
#[derive(Debug, Deserialize)]
pub struct MembersPage {
    /// The members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub members: Vec<ZoomMember>,
    /// The next page's token; empty or missing on the last page.
    #[serde(default, deserialize_with = "opt_text")]
    pub next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(deserialize_with = "opt_text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    message: Option<String>,
}

/// Decodes `{"code":124,"message":"Invalid access token."}`; `None` when the body is not one.
pub fn decode_zoom_error(body: &[u8]) -> Option<Vec<ApiError>> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    if parsed.code.is_none() && parsed.message.is_none() {
        return None;
    }
    Some(vec![ApiError {
        error_type: parsed.code.map(|c| format!("code {c}")),
        error_message: parsed.message,
        error_data: None,
    }])
}
