//! `GET /api/v1/adherence`: daily adherence and conformance per agent (shifts starting on a
//! local day) and team (a directory group; minutes summed, then divided).

use super::live::Loaded;
use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::ApiQuery;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use wfm_adherence::{daily as daily_figures, Totals};
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::{GroupQuery, UserView};

/// Query of `GET /api/v1/adherence`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyQuery {
    /// Local date `YYYY-MM-DD` (required).
    #[serde(default)]
    pub date: Option<String>,
    /// IANA time zone of the day (default `UTC`).
    #[serde(default)]
    pub tz: Option<String>,
    /// A directory group (hub id or exact name): only its members, plus the team total.
    #[serde(default)]
    pub team: Option<String>,
}

/// Summed figures in minutes with the percentages derived from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiguresView {
    /// Scheduled minutes.
    pub scheduled_minutes: f64,
    /// Scheduled minutes in adherence.
    pub in_minutes: f64,
    /// Scheduled minutes out of adherence.
    pub out_minutes: f64,
    /// Scheduled minutes neutral.
    pub neutral_minutes: f64,
    /// Scheduled in-service (open) minutes.
    pub scheduled_in_service_minutes: f64,
    /// Worked (in-service state) minutes within the shifts ±1 h.
    pub worked_minutes: f64,
    /// in ÷ (scheduled − neutral) × 100; `null` when nothing counts.
    pub adherence_pct: Option<f64>,
    /// worked ÷ scheduled in-service × 100 (may exceed 100).
    pub conformance_pct: Option<f64>,
    /// min(worked, scheduled in-service) per agent-day, summed, ÷ scheduled in-service × 100.
    pub conformance_capped_pct: Option<f64>,
}

fn figures(totals: &Totals) -> FiguresView {
    let minutes = |ms: i64| ms as f64 / 60_000.0;
    FiguresView {
        scheduled_minutes: minutes(totals.scheduled_ms),
        in_minutes: minutes(totals.in_ms),
        out_minutes: minutes(totals.out_ms),
        neutral_minutes: minutes(totals.neutral_ms),
        scheduled_in_service_minutes: minutes(totals.scheduled_in_service_ms),
        worked_minutes: minutes(totals.worked_ms),
        adherence_pct: totals.adherence_pct(),
        conformance_pct: totals.conformance_pct(),
        conformance_capped_pct: totals.conformance_capped_pct(),
    }
}

/// One agent's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDayView {
    /// The agent id.
    pub agent: String,
    /// The shifts counted (starting that local day, counted wholly).
    pub shifts: Vec<TimeRange>,
    /// Figures.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// The team of a daily query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    /// Group hub id.
    pub id: String,
    /// Group name.
    pub name: String,
}

/// Body of `GET /api/v1/adherence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyBody {
    /// The local date.
    pub date: String,
    /// Its time zone.
    pub tz: String,
    /// The day's UTC bounds.
    pub day: TimeRange,
    /// The team, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamRef>,
    /// Every agent with a shift starting that day (of the team, if given), by agent id.
    pub agents: Vec<AgentDayView>,
    /// Sum over `agents` (minutes summed, then divided).
    pub total: FiguresView,
}

/// The agent ids of a directory user: its `agentId` attribute values and its external id.
fn agent_ids(user: &UserView) -> Vec<String> {
    let mut ids = vec![user.external_id.clone()];
    for (name, values) in &user.attributes {
        if name.eq_ignore_ascii_case("agentid") {
            ids.extend(values.iter().cloned());
        }
    }
    ids
}

/// The team (group by hub id, else by exact name) and its members' agent ids.
async fn team_agents(
    state: &AppState,
    project: &ProjectId,
    team: &str,
) -> Result<(TeamRef, BTreeSet<String>), ApiError> {
    let mut group = state.store.get_group(project, team).await?;
    if group.is_none() {
        let query = GroupQuery {
            name: Some(team.to_string()),
            ..GroupQuery::default()
        };
        let page = state.store.list_groups(project, &query).await?;
        let matches: Vec<_> = page.items.into_iter().filter(|g| g.name == team).collect();
        if matches.len() > 1 {
            return Err(ApiError::invalid_request(format!(
                "team '{team}' names {} groups: use the group id",
                matches.len()
            )));
        }
        if let Some(found) = matches.into_iter().next() {
            group = state.store.get_group(project, &found.id).await?;
        }
    }
    let Some(group) = group else {
        return Err(ApiError::not_found("team", team));
    };
    let mut agents = BTreeSet::new();
    for member in &group.member_ids {
        if let Some(user) = state.store.get_user(project, member).await? {
            agents.extend(agent_ids(&user));
        }
    }
    let team = TeamRef {
        id: group.group.id.clone(),
        name: group.group.name.clone(),
    };
    Ok((team, agents))
}

/// `GET /api/v1/adherence?date=YYYY-MM-DD&tz=Area/City&team=`: daily adherence and conformance
/// per agent (shifts starting that local day) and their total.
pub async fn daily(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(query): ApiQuery<DailyQuery>,
) -> Result<Json<DailyBody>, ApiError> {
    let Some(date) = query.date else {
        return Err(ApiError::invalid_request(
            "missing 'date': give a local date YYYY-MM-DD",
        ));
    };
    let tz_name = query.tz.unwrap_or_else(|| "UTC".to_string());
    let zone = TimeZone::get(&tz_name).map_err(|_| {
        ApiError::invalid_request(format!(
            "unknown time zone '{tz_name}': use an IANA name such as Europe/Berlin"
        ))
    })?;
    let day = crate::routes::intervals::local_day(&date, &zone)?;
    let (team, members) = match &query.team {
        Some(team) => {
            let (team, members) = team_agents(&state, &project, team).await?;
            (Some(team), Some(members))
        }
        None => (None, None),
    };
    // Shifts start in the day and last at most a day; worked time counts ±1 h around them.
    let wide = TimeRange {
        from: day.from - time::Duration::days(1) - time::Duration::hours(1),
        to: day.to + time::Duration::days(1) + time::Duration::hours(1),
    };
    let loaded = Loaded::read(&state, &project, wide).await?;
    let mut agents = Vec::new();
    let mut total = Totals::default();
    for agent in loaded.schedule.keys() {
        if members.as_ref().is_some_and(|m| !m.contains(agent)) {
            continue;
        }
        let result = loaded.with_inputs(agent, |inputs| daily_figures(agent, inputs, day));
        if result.shifts.is_empty() {
            continue;
        }
        total.add(&result.totals);
        agents.push(AgentDayView {
            agent: result.agent,
            shifts: result.shifts,
            figures: figures(&result.totals),
        });
    }
    Ok(Json(DailyBody {
        date,
        tz: tz_name,
        day,
        team,
        agents,
        total: figures(&total),
    }))
}
