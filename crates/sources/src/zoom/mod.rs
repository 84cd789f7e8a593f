//! Zoom users and groups (as teams): `GET /v2/users?status=active`, `/v2/groups` and
//! `/v2/groups/{id}/members`, paged by `next_page_token`.

mod client;
mod decode;
#[cfg(test)]
mod tests;

pub use client::ZoomClient;
pub use decode::{
    decode_zoom_error, GroupsPage, MembersPage, UsersPage, ZoomGroup, ZoomMember, ZoomUser,
};
