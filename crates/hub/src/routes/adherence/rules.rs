//! Activity definitions, rule overrides and authorized exceptions: wire types and handlers.

use super::{
    instant_range, json_body, unprocessable, RangeQuery, MAX_ENTRY, MAX_TOLERANCE_MINUTES,
};
use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::ApiQuery;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;
use wfm_adherence::{
    default_status, Activity, ActivityKind, AuthorizedException, Rule, RuleBook, Status,
};
use wfm_protocol::states::AgentState;

/// One activity definition on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityBody {
    /// Id used by schedule entries and rules.
    pub id: String,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// `open` (alias `phone`), `break`, `lunch`, `meeting`, `training` or `offline`.
    pub kind: String,
    /// Start-edge tolerance in minutes (0–240).
    #[serde(default)]
    pub tolerance_start_minutes: u32,
    /// End-edge tolerance in minutes (0–240).
    #[serde(default)]
    pub tolerance_end_minutes: u32,
}

/// One rule override on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleBody {
    /// Activity id; `null` = unscheduled time.
    #[serde(default)]
    pub activity: Option<String>,
    /// Agent state.
    pub state: AgentState,
    /// Reason code; `null` = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<i64>,
    /// `in`, `out` or `neutral`.
    pub status: Status,
}

/// One cell of the default table (`GET /api/v1/adherence/rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultCell {
    /// Activity kind; `null` = unscheduled.
    pub kind: Option<ActivityKind>,
    /// Agent state.
    pub state: AgentState,
    /// Status.
    pub status: Status,
}

/// Body of `PUT`/`GET /api/v1/adherence/rules`. Unknown fields are refused: a misspelt
/// `activities` or `rules` would otherwise replace every rule with nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Activity definitions (replace all).
    #[serde(default)]
    pub activities: Vec<ActivityBody>,
    /// Rule overrides (replace all).
    #[serde(default)]
    pub rules: Vec<RuleBody>,
    /// The default table (answers only; ignored in a `PUT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<DefaultCell>,
}

/// Body of `POST /api/v1/adherence/exceptions` (answers add `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionBody {
    /// Hub id (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The agent id.
    pub agent: String,
    /// Start (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End, exclusive (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// Body of `GET /api/v1/adherence/exceptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionsBody {
    /// Exceptions overlapping the range.
    pub exceptions: Vec<ExceptionBody>,
}

fn minutes(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs() / 60).unwrap_or(u32::MAX)
}

/// The default table as cells, for documentation in answers.
pub fn default_cells() -> Vec<DefaultCell> {
    const STATES: [AgentState; 10] = [
        AgentState::LoggedOut,
        AgentState::LoggedIn,
        AgentState::NotReady,
        AgentState::Ready,
        AgentState::Reserved,
        AgentState::Talking,
        AgentState::Hold,
        AgentState::Work,
        AgentState::BusyOther,
        AgentState::Unknown,
    ];
    let kinds = ActivityKind::ALL.into_iter().map(Some).chain([None]);
    let mut cells = Vec::new();
    for kind in kinds {
        for state in STATES {
            cells.push(DefaultCell {
                kind,
                state,
                status: default_status(kind, state),
            });
        }
    }
    cells
}

fn rules_body(book: &RuleBook) -> RulesBody {
    RulesBody {
        activities: book
            .activities
            .iter()
            .map(|activity| ActivityBody {
                id: activity.id.clone(),
                name: Some(activity.name.clone()),
                kind: activity.kind.as_str().to_string(),
                tolerance_start_minutes: minutes(activity.tolerance_start),
                tolerance_end_minutes: minutes(activity.tolerance_end),
            })
            .collect(),
        rules: book
            .rules
            .iter()
            .map(|rule| RuleBody {
                activity: rule.activity.clone(),
                state: rule.state,
                reason_code: rule.reason_code,
                status: rule.status,
            })
            .collect(),
        defaults: default_cells(),
    }
}

/// Validates a rules body into a [`RuleBook`], or every problem.
pub fn rule_book(body: RulesBody) -> Result<RuleBook, Vec<String>> {
    let mut problems = Vec::new();
    let mut book = RuleBook::default();
    let mut ids = BTreeSet::new();
    for (index, activity) in body.activities.into_iter().enumerate() {
        let label = format!("activity {index}");
        if activity.id.trim().is_empty() {
            problems.push(format!("{label}: id is empty"));
        } else if !ids.insert(activity.id.clone()) {
            problems.push(format!("{label}: id '{}' is defined twice", activity.id));
        }
        let Some(kind) = ActivityKind::parse(&activity.kind) else {
            problems.push(format!(
                "{label}: kind '{}' is not one of open, phone, break, lunch, meeting, training, offline",
                activity.kind
            ));
            continue;
        };
        for (name, value) in [
            ("tolerance_start_minutes", activity.tolerance_start_minutes),
            ("tolerance_end_minutes", activity.tolerance_end_minutes),
        ] {
            if value > MAX_TOLERANCE_MINUTES {
                problems.push(format!("{label}: {name} is above {MAX_TOLERANCE_MINUTES}"));
            }
        }
        book.activities.push(Activity {
            name: activity.name.unwrap_or_else(|| activity.id.clone()),
            id: activity.id,
            kind,
            tolerance_start: Duration::from_secs(u64::from(activity.tolerance_start_minutes) * 60),
            tolerance_end: Duration::from_secs(u64::from(activity.tolerance_end_minutes) * 60),
        });
    }
    let mut keys = BTreeSet::new();
    for (index, rule) in body.rules.into_iter().enumerate() {
        if rule
            .activity
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            problems.push(format!(
                "rule {index}: activity is empty (use null for unscheduled)"
            ));
        }
        if !keys.insert((rule.activity.clone(), rule.state, rule.reason_code)) {
            problems.push(format!(
                "rule {index}: the same (activity, state, reason_code) twice"
            ));
        }
        book.rules.push(Rule {
            activity: rule.activity,
            state: rule.state,
            reason_code: rule.reason_code,
            status: rule.status,
        });
    }
    if problems.is_empty() {
        Ok(book)
    } else {
        Err(problems)
    }
}

/// `PUT /api/v1/adherence/rules`: replaces the activity definitions and rule overrides; 422
/// `invalid_rules` names every problem.
pub async fn put_rules(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Json<RulesBody>, ApiError> {
    let body: RulesBody = json_body(&state, request, "rule set").await?;
    let book = rule_book(body).map_err(|p| unprocessable("invalid_rules", "rule set", p))?;
    state.store.put_adherence_rules(&project, &book).await?;
    state.adherence.notify(&project);
    Ok(Json(rules_body(&book)))
}

/// `GET /api/v1/adherence/rules`: the stored definitions and overrides plus the default table.
pub async fn get_rules(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Json<RulesBody>, ApiError> {
    let book = state.store.adherence_rules(&project).await?;
    Ok(Json(rules_body(&book)))
}

/// `POST /api/v1/adherence/exceptions`: stores an authorized exception (201 with its id).
pub async fn post_exception(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let body: ExceptionBody = json_body(&state, request, "exception").await?;
    let mut problems = Vec::new();
    if body.agent.trim().is_empty() {
        problems.push("agent is empty".to_string());
    }
    if body.end <= body.start {
        problems.push("end is not after start".to_string());
    } else if body.end - body.start > MAX_ENTRY {
        problems.push("longer than 24 hours".to_string());
    }
    if !problems.is_empty() {
        return Err(unprocessable("invalid_exception", "exception", problems));
    }
    let exception = AuthorizedException {
        agent: body.agent.clone(),
        start: body.start,
        end: body.end,
        note: body.note.clone(),
    };
    let now = (state.clock)();
    let id = state
        .store
        .add_adherence_exception(&project, &exception, now)
        .await?;
    state.adherence.notify(&project);
    let answer = ExceptionBody {
        id: Some(id),
        ..body
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /api/v1/adherence/exceptions?agent=&from=&to=`: exceptions overlapping the range.
pub async fn get_exceptions(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<ExceptionsBody>, ApiError> {
    let range = instant_range(query.from.as_deref(), query.to.as_deref())?;
    let agents = query.agent.map(|agent| vec![agent]);
    let exceptions = state
        .store
        .adherence_exceptions(&project, agents.as_deref(), range)
        .await?
        .into_iter()
        .map(|stored| ExceptionBody {
            id: Some(stored.id),
            agent: stored.exception.agent,
            start: stored.exception.start,
            end: stored.exception.end,
            note: stored.exception.note,
        })
        .collect();
    Ok(Json(ExceptionsBody { exceptions }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_bodies_are_validated() {
        let body = RulesBody {
            activities: vec![
                ActivityBody {
                    id: "phone".into(),
                    name: None,
                    kind: "phone".into(),
                    tolerance_start_minutes: 3,
                    tolerance_end_minutes: 300,
                },
                ActivityBody {
                    id: "phone".into(),
                    name: None,
                    kind: "nap".into(),
                    tolerance_start_minutes: 0,
                    tolerance_end_minutes: 0,
                },
            ],
            rules: Vec::new(),
            defaults: Vec::new(),
        };
        let problems = rule_book(body).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(default_cells().len(), 70);
    }
}
