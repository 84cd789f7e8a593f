//! Adherence routes, inputs side: schedules (JSON and CSV import, query), activity definitions
//! and rule overrides, authorized exceptions. The evaluation side (real time, the SSE stream,
//! daily figures) is in [`live`]. The rules themselves are [`wfm_adherence`]'s; every handler
//! takes the project from the bearer token only.

pub mod daily;
pub mod live;
pub mod rules;

pub use daily::daily;
pub use live::{notify_states, realtime, stream, AdherenceFeed};
pub use rules::{get_exceptions, get_rules, post_exception, put_rules};

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::directory::{is_json, json_too_deep, read_body, MAX_JSON_DEPTH};
use crate::routes::ApiQuery;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wfm_adherence::ScheduledActivity;
use wfm_protocol::intervals::TimeRange;

/// `PUT`: replace schedules (JSON); `GET`: query them (`?agent=&from=&to=`).
pub const SCHEDULES: &str = "/api/v1/schedules";
/// `PUT`: replace schedules from CSV (`agent,activity,start,end`).
pub const SCHEDULES_CSV: &str = "/api/v1/schedules.csv";
/// `GET`: daily adherence and conformance (`?date=&tz=&team=`).
pub const ADHERENCE: &str = "/api/v1/adherence";
/// `PUT`/`GET`: activity definitions and rule overrides.
pub const ADHERENCE_RULES: &str = "/api/v1/adherence/rules";
/// `POST`: add an authorized exception; `GET`: list them (`?agent=&from=&to=`).
pub const ADHERENCE_EXCEPTIONS: &str = "/api/v1/adherence/exceptions";
/// `GET`: every agent's real-time status.
pub const ADHERENCE_REALTIME: &str = "/api/v1/adherence/realtime";
/// `GET`: Server-Sent Events, one per agent whose real-time view changes.
pub const ADHERENCE_STREAM: &str = "/api/v1/adherence/stream";

/// Most entries one schedule replacement may carry.
pub const MAX_SCHEDULE_ENTRIES: usize = 100_000;
/// Longest schedule entry or exception.
pub const MAX_ENTRY: Duration = Duration::from_secs(24 * 3600);
/// Longest range one schedule replacement or query may span (days).
pub const MAX_RANGE_DAYS: i64 = 93;
/// Largest tolerance (minutes).
pub const MAX_TOLERANCE_MINUTES: u32 = 240;
/// At most this many problems are listed in a 422.
const MAX_PROBLEMS: usize = 20;

/// One schedule entry on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    /// The agent id (as in the state events).
    pub agent: String,
    /// The activity id (a defined activity or a kind name: `phone`, `break`, `lunch`, ...).
    pub activity: String,
    /// Start (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End, exclusive (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// Body of `PUT /api/v1/schedules` in object form (a bare array of entries is accepted too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulePut {
    /// Start of the replaced range (with `to`); default: UTC midnight before the earliest start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// End of the replaced range; default: the UTC midnight after the latest start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// Agents whose entries are replaced; default: the agents of `entries`.
    #[serde(default)]
    pub agents: Option<Vec<String>>,
    /// The new entries (each must start in the range and belong to one of the agents).
    pub entries: Vec<ScheduleEntry>,
}

/// Answer to a schedule replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleResponse {
    /// The replaced range.
    pub range: TimeRange,
    /// The agents whose entries starting in the range were replaced.
    pub agents: Vec<String>,
    /// Entries removed.
    pub removed: u64,
    /// Entries stored.
    pub inserted: u64,
}

/// Query of `GET /api/v1/schedules` and `GET /api/v1/adherence/exceptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeQuery {
    /// One agent (optional).
    #[serde(default)]
    pub agent: Option<String>,
    /// Range start (RFC 3339, required).
    #[serde(default)]
    pub from: Option<String>,
    /// Range end, exclusive (RFC 3339, required).
    #[serde(default)]
    pub to: Option<String>,
}

/// Query of `PUT /api/v1/schedules.csv`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvQuery {
    /// Range start (RFC 3339, optional, with `to`).
    #[serde(default)]
    pub from: Option<String>,
    /// Range end (RFC 3339, optional, with `from`).
    #[serde(default)]
    pub to: Option<String>,
    /// Comma-separated agents whose entries are replaced (default: the agents of the file).
    #[serde(default)]
    pub agents: Option<String>,
}

/// Body of `GET /api/v1/schedules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulesBody {
    /// Entries overlapping the range, ordered by (agent, start).
    pub entries: Vec<ScheduleEntry>,
}

/// 422 with `code` and every problem in `details`.
pub(crate) fn unprocessable(code: &'static str, what: &str, mut problems: Vec<String>) -> ApiError {
    let total = problems.len();
    problems.truncate(MAX_PROBLEMS);
    if total > MAX_PROBLEMS {
        problems.push(format!("… and {} more", total - MAX_PROBLEMS));
    }
    let first = problems.first().cloned().unwrap_or_default();
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("the {what} was not stored: {first}"),
    );
    e.details = problems;
    e
}

/// A required RFC 3339 query parameter.
pub(crate) fn instant(name: &str, value: Option<&str>) -> Result<OffsetDateTime, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::invalid_request(format!(
            "missing '{name}': give an RFC 3339 time such as 2026-03-02T08:00:00Z"
        )));
    };
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::invalid_request(format!(
            "'{name}={value}' is not an RFC 3339 time such as 2026-03-02T08:00:00Z"
        ))
    })
}

/// A required `from`/`to` range of at most [`MAX_RANGE_DAYS`].
pub(crate) fn instant_range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, ApiError> {
    let range = TimeRange {
        from: instant("from", from)?,
        to: instant("to", to)?,
    };
    check_range(range)?;
    Ok(range)
}

fn check_range(range: TimeRange) -> Result<(), ApiError> {
    if range.to <= range.from {
        return Err(ApiError::invalid_request("'to' must be after 'from'"));
    }
    if range.to - range.from > time::Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::invalid_request(format!(
            "the range is longer than the limit of {MAX_RANGE_DAYS} days: send it in parts"
        )));
    }
    Ok(())
}

/// Reads and parses a JSON body (415 when not JSON, 400 naming what is wrong).
pub(crate) async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    request: Request,
    what: &str,
) -> Result<T, ApiError> {
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes).await?;
    if json_too_deep(&raw, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_request(format!(
            "the body is not a valid {what}: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    serde_json::from_slice(&raw)
        .map_err(|e| ApiError::invalid_request(format!("the body is not a valid {what}: {e}")))
}

fn utc_midnight(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_time(time::Time::MIDNIGHT)
}

/// Checks labelled entries against the range and agents and replaces the schedule.
async fn replace(
    state: &AppState,
    project: &wfm_model::ProjectId,
    range: Option<TimeRange>,
    agents: Option<Vec<String>>,
    entries: Vec<(String, ScheduleEntry)>,
) -> Result<ScheduleResponse, ApiError> {
    if entries.len() > MAX_SCHEDULE_ENTRIES {
        return Err(ApiError::invalid_request(format!(
            "{} entries: send at most {MAX_SCHEDULE_ENTRIES} per request",
            entries.len()
        )));
    }
    let range = match range {
        Some(range) => range,
        None => {
            let starts = entries.iter().map(|(_, entry)| entry.start);
            let (Some(first), Some(last)) = (starts.clone().min(), starts.max()) else {
                return Err(ApiError::invalid_request(
                    "no entries and no range: give 'from' and 'to' to clear a range",
                ));
            };
            TimeRange {
                from: utc_midnight(first),
                to: utc_midnight(last) + time::Duration::days(1),
            }
        }
    };
    check_range(range)?;
    let agents: Vec<String> = match agents {
        Some(agents) => agents,
        None => entries
            .iter()
            .map(|(_, entry)| entry.agent.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let allowed: BTreeSet<&str> = agents.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    if agents.iter().any(|agent| agent.trim().is_empty()) {
        problems.push("agents: an agent id is empty".to_string());
    }
    for (label, entry) in &entries {
        problems.extend(entry_problems(label, entry, range, &allowed));
    }
    if !problems.is_empty() {
        return Err(unprocessable("invalid_schedule", "schedule", problems));
    }
    let stored: Vec<ScheduledActivity> = entries
        .into_iter()
        .map(|(_, entry)| ScheduledActivity {
            agent: entry.agent,
            activity: entry.activity,
            start: entry.start,
            end: entry.end,
        })
        .collect();
    let done = state
        .store
        .replace_schedule(project, &agents, range, &stored)
        .await?;
    state.adherence.notify(project);
    tracing::info!(project = %project, agents = agents.len(), removed = done.removed, inserted = done.inserted, "schedule replaced");
    Ok(ScheduleResponse {
        range,
        agents,
        removed: done.removed,
        inserted: done.inserted,
    })
}

fn entry_problems(
    label: &str,
    entry: &ScheduleEntry,
    range: TimeRange,
    agents: &BTreeSet<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if entry.agent.trim().is_empty() {
        problems.push(format!("{label}: agent is empty"));
    } else if !agents.contains(entry.agent.as_str()) {
        problems.push(format!(
            "{label}: agent '{}' is not in 'agents'",
            entry.agent
        ));
    }
    if entry.activity.trim().is_empty() {
        problems.push(format!("{label}: activity is empty"));
    }
    if entry.end <= entry.start {
        problems.push(format!("{label}: end is not after start"));
    } else if entry.end - entry.start > MAX_ENTRY {
        problems.push(format!("{label}: longer than 24 hours"));
    }
    if entry.start < range.from || entry.start >= range.to {
        problems.push(format!("{label}: start is outside the replaced range"));
    }
    problems
}

/// `PUT /api/v1/schedules`: replaces the entries of some agents that start in a range, from a
/// JSON [`SchedulePut`] or a bare array of [`ScheduleEntry`]; 422 `invalid_schedule` names
/// every bad entry by index.
pub async fn put_schedules(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Json<ScheduleResponse>, ApiError> {
    let value: serde_json::Value = json_body(&state, request, "schedule").await?;
    let put: SchedulePut = if value.is_array() {
        let entries = serde_json::from_value(value).map_err(|e| {
            ApiError::invalid_request(format!("the body is not a valid schedule: {e}"))
        })?;
        SchedulePut {
            from: None,
            to: None,
            agents: None,
            entries,
        }
    } else {
        serde_json::from_value(value).map_err(|e| {
            ApiError::invalid_request(format!("the body is not a valid schedule: {e}"))
        })?
    };
    let range = match (put.from, put.to) {
        (Some(from), Some(to)) => Some(TimeRange { from, to }),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid_request(
                "give both 'from' and 'to', or neither",
            ))
        }
    };
    let entries = put
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| (format!("entry {index}"), entry))
        .collect();
    Ok(Json(
        replace(&state, &project, range, put.agents, entries).await?,
    ))
}

fn is_csv(headers: &HeaderMap) -> bool {
    let Some(text) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/csv")
}

/// Parses `agent,activity,start,end` lines (an optional header line starting with `agent`;
/// blank lines skipped); every problem names its 1-based line.
pub fn parse_schedule_csv(text: &str) -> Result<Vec<(String, ScheduleEntry)>, Vec<String>> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if number == 1 && fields[0].eq_ignore_ascii_case("agent") {
            continue;
        }
        if fields.len() != 4 {
            problems.push(format!(
                "line {number}: expected 4 fields (agent,activity,start,end), found {}",
                fields.len()
            ));
            continue;
        }
        let mut time_field = |name: &str, value: &str| match OffsetDateTime::parse(value, &Rfc3339)
        {
            Ok(t) => Some(t),
            Err(_) => {
                problems.push(format!(
                    "line {number}: {name} '{value}' is not an RFC 3339 time such as 2026-03-02T08:00:00Z"
                ));
                None
            }
        };
        let start = time_field("start", fields[2]);
        let end = time_field("end", fields[3]);
        if let (Some(start), Some(end)) = (start, end) {
            let entry = ScheduleEntry {
                agent: fields[0].to_string(),
                activity: fields[1].to_string(),
                start,
                end,
            };
            entries.push((format!("line {number}"), entry));
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

/// `PUT /api/v1/schedules.csv` (`text/csv`): like `PUT /api/v1/schedules`; range and agents
/// from the query (`?from=&to=&agents=a,b`) or the file; 422 `invalid_schedule` names lines.
pub async fn put_schedules_csv(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(query): ApiQuery<CsvQuery>,
    request: Request,
) -> Result<Json<ScheduleResponse>, ApiError> {
    let (parts, body) = request.into_parts();
    if !is_csv(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes).await?;
    let text = String::from_utf8(raw)
        .map_err(|_| ApiError::invalid_request("the CSV body is not UTF-8"))?;
    let entries = parse_schedule_csv(&text)
        .map_err(|problems| unprocessable("invalid_schedule", "schedule", problems))?;
    let range = match (&query.from, &query.to) {
        (None, None) => None,
        _ => Some(instant_range(query.from.as_deref(), query.to.as_deref())?),
    };
    let agents = query.agents.map(|list| {
        list.split(',')
            .map(|agent| agent.trim().to_string())
            .filter(|agent| !agent.is_empty())
            .collect()
    });
    Ok(Json(
        replace(&state, &project, range, agents, entries).await?,
    ))
}

/// `GET /api/v1/schedules?agent=&from=&to=`: entries overlapping the range.
pub async fn get_schedules(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<SchedulesBody>, ApiError> {
    let range = instant_range(query.from.as_deref(), query.to.as_deref())?;
    let agents = query.agent.map(|agent| vec![agent]);
    let entries = state
        .store
        .schedule(&project, agents.as_deref(), range)
        .await?
        .into_iter()
        .map(|entry| ScheduleEntry {
            agent: entry.agent,
            activity: entry.activity,
            start: entry.start,
            end: entry.end,
        })
        .collect();
    Ok(Json(SchedulesBody { entries }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_errors_name_the_line() {
        let text = "agent,activity,start,end\n\
                    5001,phone,2026-03-02T09:00:00Z,2026-03-02T17:00:00Z\n\
                    \n\
                    5002,phone,yesterday,2026-03-02T17:00:00Z\n\
                    5003,phone\n";
        let problems = parse_schedule_csv(text).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("line 4: start 'yesterday'"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("line 5: expected 4 fields"),
            "{problems:?}"
        );
    }

    #[test]
    fn csv_without_a_header_parses() {
        let entries =
            parse_schedule_csv("5001, lunch ,2026-03-02T12:00:00Z,2026-03-02T13:00:00+00:00")
                .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "line 1");
        assert_eq!(entries[0].1.activity, "lunch");
    }
}
