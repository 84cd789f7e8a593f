//! JSON documents of the Webex Contact Center configuration API: users, teams, errors.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::dataset::Team;
use crate::paging::{stable_uuid, DirUser, UNKNOWN_MEMBER_KEY};

/// `createdTime`/`lastUpdatedTime` of every record (epoch ms, as in the published sample).
const CREATED_MS: u64 = 1_679_393_400_000;

/// The Webex user id: stable for the CUCM `pkid` (or the user id when there is no end user).
pub fn user_id(key: &str) -> String {
    stable_uuid("webex-user", key)
}

/// The Webex team id for a UCCX team id.
pub fn team_id(team_id: u32) -> String {
    stable_uuid("webex-team", &team_id.to_string())
}

/// The id listed by `unknown_member`.
pub fn unknown_user_id() -> String {
    user_id(UNKNOWN_MEMBER_KEY)
}

/// The site every user and team belongs to.
pub fn site_id(org: &str) -> String {
    stable_uuid("webex-site", org)
}

/// The agent profile of agents (`kind` 1) and supervisors (`kind` 2).
pub fn agent_profile_id(org: &str, kind: u8) -> String {
    stable_uuid("webex-agent-profile", &format!("{org}/{kind}"))
}

/// One user, with every field of the published `List User(s)` sample plus `teamIds`.
pub(crate) fn user(org: &str, u: &DirUser<'_>) -> Value {
    let r = u.r;
    let email = u
        .mail()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}@noemail.example.com", r.user_id.to_lowercase()));
    let team_ids: Vec<String> = r.team.iter().map(|(id, _)| team_id(*id)).collect();
    let mut m = Map::new();
    m.insert("imiUserCreated".into(), json!(false));
    m.insert("lastName".into(), json!(r.last_name));
    m.insert("userLevelSummariesInclusion".into(), json!("INCLUDED"));
    m.insert("timezone".into(), json!("America/New_York"));
    if let Some((id, _)) = r.primary_supervisor_of.first() {
        m.insert("preferredSupervisorTeamId".into(), json!(team_id(*id)));
    }
    m.insert("organizationId".into(), json!(org));
    m.insert(
        "broadCloudUserId".into(),
        json!(stable_uuid("webex-broadcloud", &u.key)),
    );
    m.insert("externalIdentifier".into(), json!(r.user_id));
    m.insert("createdTime".into(), json!(CREATED_MS));
    m.insert("lastUpdatedTime".into(), json!(CREATED_MS));
    m.insert("id".into(), json!(user_id(&u.key)));
    m.insert("contactCenterEnabled".into(), json!(true));
    m.insert("email".into(), json!(email));
    m.insert("ciUserId".into(), json!(stable_uuid("webex-ci", &u.key)));
    m.insert("xspVersion".into(), json!("xsp-24.0"));
    m.insert("userLevelAutoCSATInclusion".into(), json!("INCLUDED"));
    m.insert("active".into(), json!(true));
    m.insert("version".into(), json!(1));
    m.insert(
        "skillProfileId".into(),
        json!(stable_uuid("webex-skill-profile", org)),
    );
    m.insert("firstName".into(), json!(r.first_name));
    m.insert("userLevelWellnessBreakReminders".into(), json!("DISABLED"));
    m.insert(
        "agentProfileId".into(),
        json!(agent_profile_id(org, r.kind)),
    );
    m.insert("siteId".into(), json!(site_id(org)));
    m.insert("userLevelBurnoutInclusion".into(), json!("INCLUDED"));
    m.insert("workPhone".into(), json!(r.extension));
    m.insert(
        "userProfileId".into(),
        json!(stable_uuid(
            "webex-user-profile",
            &format!("{org}/{}", r.kind)
        )),
    );
    m.insert(
        "multimediaProfileId".into(),
        json!(stable_uuid("webex-mm-profile", org)),
    );
    m.insert(
        "subscriptionId".into(),
        json!(stable_uuid("webex-subscription", org)),
    );
    // Cisco's own misspelling, as published.
    m.insert("deafultDialledNumber".into(), json!(r.extension));
    m.insert("teamIds".into(), json!(team_ids));
    Value::Object(m)
}

/// One team, with every field of the published `List Team(s)` sample plus `userIds`.
pub(crate) fn team(org: &str, t: &Team, user_ids: Vec<String>) -> Value {
    json!({
        "active": true,
        "description": format!("{} team", t.name),
        "version": 1,
        "skillProfileId": stable_uuid("webex-skill-profile", org),
        "capacity": 1,
        "organizationId": org,
        "systemDefault": false,
        "rankQueuesForTeam": false,
        "multiMediaProfileId": stable_uuid("webex-mm-profile", org),
        "name": t.name,
        "siteId": site_id(org),
        "createdTime": CREATED_MS,
        "lastUpdatedTime": CREATED_MS,
        "id": team_id(t.team_id),
        "teamType": "AGENT",
        "teamStatus": "IN_SERVICE",
        "desktopLayoutId": stable_uuid("webex-desktop-layout", org),
        "userIds": user_ids,
    })
}

/// The Webex CC error body:
/// `{"trackingId","error":{"key","reason","message":[{"description","code","entity","references"}]}}`.
pub fn error(status: u16, reason: &str, description: &str, entity: &str) -> Response {
    let tracking = format!("ccconfig_{}", stable_uuid("webex-tracking", &rand_suffix()));
    let body = json!({
        "trackingId": tracking,
        "error": {
            "key": status.to_string(),
            "reason": reason,
            "message": [{
                "description": description,
                "code": status.to_string(),
                "entity": entity,
                "references": [],
            }],
        },
    });
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::HeaderName::from_static("trackingid"), tracking),
        ],
        body.to_string(),
    )
        .into_response()
}

fn rand_suffix() -> String {
    use rand::Rng;
    rand::thread_rng().gen::<u64>().to_string()
}
