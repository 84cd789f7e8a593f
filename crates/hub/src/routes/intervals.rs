//! Queue-interval routes: the idempotent replace-a-window ingest, the interval query (JSON and
//! CSV, by UTC range or by local day), the queue list and the coverage gaps. Every handler takes
//! the project from the bearer token only. Time zones come from the IANA database compiled into
//! the binary (`jiff`), never from the host.

use crate::auth::Project;
use crate::error::ApiError;
use crate::routes::directory::{
    body_sha256_hex, idempotency_key, is_json, json_too_deep, read_body, MAX_JSON_DEPTH,
};
use crate::routes::ApiQuery;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wfm_model::ProjectId;
use wfm_protocol::intervals::{
    IntervalBatch, IntervalFigures, IntervalQuery, IntervalView, IntervalsResponse,
    MissingResponse, TimeRange,
};
use wfm_protocol::IDEMPOTENT_REPLAY_HEADER;
use wfm_store::IntervalOutcome;

/// Longest range (days) one interval query or export may span.
pub const MAX_RANGE_DAYS: i64 = 93;

/// Query of `GET /api/v1/intervals/missing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingQuery {
    /// The importer source id (required).
    #[serde(default)]
    pub source: Option<String>,
    /// Range start (RFC 3339, required).
    #[serde(default)]
    pub from: Option<String>,
    /// Range end, exclusive (RFC 3339, required).
    #[serde(default)]
    pub to: Option<String>,
}

/// 422 `invalid_batch`: the batch breaks the replace-a-window rules; `details` lists them.
fn invalid_batch(problems: Vec<String>) -> ApiError {
    let first = problems.first().cloned().unwrap_or_default();
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_batch",
        format!("the interval batch was not stored: {first}"),
    );
    e.details = problems;
    e
}

/// The named IANA time zone, or 400 naming it.
fn time_zone(name: &str) -> Result<TimeZone, ApiError> {
    TimeZone::get(name).map_err(|_| {
        ApiError::invalid_request(format!(
            "unknown time zone '{name}': use an IANA name such as Europe/Berlin or America/New_York"
        ))
    })
}

/// `POST /api/v1/intervals`: applies one [`IntervalBatch`] once per idempotency key; 422
/// `invalid_batch` (nothing stored) when it breaks a rule; a repeated key replays the answer
/// with `Idempotent-Replay: true`.
pub async fn post_batch(
    State(state): State<AppState>,
    Project(project): Project,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw = read_body(body, &parts.headers, state.max_body_bytes).await?;
    if json_too_deep(&raw, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_request(format!(
            "the body is not a valid interval batch: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let batch: IntervalBatch = match serde_json::from_slice(&raw) {
        Ok(b) => b,
        Err(e) => {
            return Err(ApiError::invalid_request(format!(
                "the body is not a valid interval batch: {e}"
            )))
        }
    };
    if TimeZone::get(&batch.time_zone).is_err() {
        return Err(invalid_batch(vec![format!(
            "time_zone '{}' is not a known IANA time zone",
            batch.time_zone
        )]));
    }
    let hash = body_sha256_hex(&raw);
    let now = (state.clock)();
    let outcome = state
        .store
        .apply_interval_batch(&project, &batch, &key, &hash, now)
        .await?;
    let (response, replay) = match outcome {
        IntervalOutcome::Rejected(problems) => {
            tracing::info!(project = %project, source = %batch.source, problems = problems.len(), "interval batch rejected");
            return Err(invalid_batch(problems));
        }
        IntervalOutcome::Applied(r) => {
            state.interval_metrics.count_batch(project.as_str(), &r);
            (r, false)
        }
        IntervalOutcome::Replay(r) => (r, true),
    };
    tracing::info!(
        project = %project,
        source = %batch.source,
        inserted = response.inserted,
        updated = response.updated,
        unchanged = response.unchanged,
        removed = response.removed,
        replay,
        "interval batch"
    );
    let mut response = Json(response).into_response();
    if replay {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /api/v1/queues`: every queue of the project with its newest interval.
pub async fn list_queues(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Response, ApiError> {
    Ok(Json(state.store.queues(&project).await?).into_response())
}

/// Parses a required RFC 3339 query parameter.
fn instant(name: &str, value: Option<&str>) -> Result<OffsetDateTime, ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Err(ApiError::invalid_request(format!(
            "missing {name}: give from and to as RFC 3339 instants (e.g. 2026-03-01T00:00:00Z)"
        )));
    };
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::invalid_request(format!(
            "{name}={value} is not an RFC 3339 instant (e.g. 2026-03-01T00:00:00Z)"
        ))
    })
}

/// An OffsetDateTime from a jiff timestamp.
fn from_jiff(t: jiff::Timestamp) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .map_err(|_| ApiError::invalid_request("the date is out of range"))
}

/// `[local midnight, next local midnight)` of `date` in `tz`, in UTC.
pub fn local_day(date: &str, tz: &TimeZone) -> Result<TimeRange, ApiError> {
    let bad = || ApiError::invalid_request(format!("date={date} is not a date YYYY-MM-DD"));
    let day: jiff::civil::Date = date.parse().map_err(|_| bad())?;
    let next = day.tomorrow().map_err(|_| bad())?;
    let start = day
        .to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| bad())?;
    let end = next
        .to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| bad())?;
    Ok(TimeRange {
        from: from_jiff(start.timestamp())?,
        to: from_jiff(end.timestamp())?,
    })
}

/// `local_start` text: the instant in `tz` as RFC 3339 with its offset.
fn local_text(t: OffsetDateTime, tz: &TimeZone) -> Option<String> {
    let ts = jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos()).ok()?;
    Some(
        ts.to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    )
}

/// The comma-separated queue ids of a query (`None`: every queue).
fn queue_list(queue: Option<&str>) -> Option<Vec<String>> {
    let ids: Vec<String> = queue?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        None
    } else {
        Some(ids)
    }
}

/// Runs an interval query: resolves the range (from/to or a local day), reads the rows, fills
/// `local_start` and the totals.
async fn run_query(
    state: &AppState,
    project: &ProjectId,
    q: &IntervalQuery,
) -> Result<IntervalsResponse, ApiError> {
    let source = q.source.as_deref().filter(|s| !s.is_empty());
    let queues = queue_list(q.queue.as_deref());
    let mut tz = match q.tz.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => Some((name.to_string(), time_zone(name)?)),
        None => None,
    };
    let range = match q.date.as_deref().filter(|s| !s.is_empty()) {
        Some(date) => {
            if q.from.is_some() || q.to.is_some() {
                return Err(ApiError::invalid_request(
                    "give either date (with tz) or from and to, not both",
                ));
            }
            if tz.is_none() {
                let name = queue_time_zone(state, project, source, queues.as_deref()).await?;
                let zone = time_zone(&name)?;
                tz = Some((name, zone));
            }
            let Some((_, zone)) = &tz else {
                return Err(ApiError::internal());
            };
            local_day(date, zone)?
        }
        None => {
            let from = instant("from", q.from.as_deref())?;
            let to = instant("to", q.to.as_deref())?;
            if from >= to {
                return Err(ApiError::invalid_request(
                    "from must be before to (the range is [from, to))",
                ));
            }
            TimeRange { from, to }
        }
    };
    if range.to - range.from > time::Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::invalid_request(format!(
            "the range is longer than the limit of {MAX_RANGE_DAYS} days: ask in parts"
        )));
    }
    let mut intervals = state
        .store
        .query_intervals(project, source, queues.as_deref(), range)
        .await?;
    let mut totals = IntervalFigures::default();
    for row in &mut intervals {
        totals.add(&row.figures);
        if let Some((_, zone)) = &tz {
            row.local_start = local_text(row.start, zone);
        }
    }
    Ok(IntervalsResponse {
        range,
        time_zone: tz.map(|(name, _)| name),
        intervals,
        totals,
    })
}

/// The time zone of the asked queues when `tz` is absent: they must all share one.
async fn queue_time_zone(
    state: &AppState,
    project: &ProjectId,
    source: Option<&str>,
    queues: Option<&[String]>,
) -> Result<String, ApiError> {
    let mut zones: Vec<String> = state
        .store
        .queues(project)
        .await?
        .into_iter()
        .filter(|v| source.is_none_or(|s| v.source == s))
        .filter(|v| queues.is_none_or(|ids| ids.contains(&v.id)))
        .map(|v| v.time_zone)
        .collect();
    zones.sort();
    zones.dedup();
    match zones.len() {
        1 => Ok(zones.remove(0)),
        0 => Err(ApiError::invalid_request(
            "date needs tz (an IANA time zone): no stored queue matches the query to take it from",
        )),
        _ => Err(ApiError::invalid_request(format!(
            "date needs tz: the matching queues are in several time zones ({})",
            zones.join(", ")
        ))),
    }
}

/// `GET /api/v1/intervals`: intervals by `from`/`to` or by local `date` (+`tz`), filtered by
/// `source` and `queue` (comma-separated), ordered by (start, source, queue), with totals.
pub async fn get_intervals(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(q): ApiQuery<IntervalQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(run_query(&state, &project, &q).await?).into_response())
}

/// The figure columns of the CSV export, in order (named like the JSON fields).
pub const CSV_FIGURE_COLUMNS: [&str; 19] = [
    "presented",
    "handled",
    "handled_without_talk",
    "abandoned",
    "aborted",
    "dequeued",
    "handled_by_script",
    "handled_by_other_queue",
    "talk_ms",
    "hold_ms",
    "work_ms",
    "answer_wait_ms",
    "queue_time_ms",
    "queued",
    "answered_within_sl",
    "abandoned_within_sl",
    "longest_wait_ms",
    "longest_answer_wait_ms",
    "longest_abandon_wait_ms",
];

fn figure_values(f: &IntervalFigures) -> [u64; 19] {
    [
        f.presented,
        f.handled,
        f.handled_without_talk,
        f.abandoned,
        f.aborted,
        f.dequeued,
        f.handled_by_script,
        f.handled_by_other_queue,
        f.talk_ms,
        f.hold_ms,
        f.work_ms,
        f.answer_wait_ms,
        f.queue_time_ms,
        f.queued,
        f.answered_within_sl,
        f.abandoned_within_sl,
        f.longest_wait_ms,
        f.longest_answer_wait_ms,
        f.longest_abandon_wait_ms,
    ]
}

/// Derived metrics of one row, from its summed figures (empty when nothing was handled):
/// AHT s = (talk + hold + work) / handled / 1000; ASA s = answer_wait / handled / 1000;
/// service level % (only-handled) = answered_within_sl / handled × 100. One decimal.
pub fn derived(f: &IntervalFigures) -> [String; 3] {
    if f.handled == 0 {
        return [String::new(), String::new(), String::new()];
    }
    let handled = f.handled as f64;
    let handle_ms = f
        .talk_ms
        .saturating_add(f.hold_ms)
        .saturating_add(f.work_ms) as f64;
    [
        format!("{:.1}", handle_ms / handled / 1000.0),
        format!("{:.1}", f.answer_wait_ms as f64 / handled / 1000.0),
        format!("{:.1}", f.answered_within_sl as f64 / handled * 100.0),
    ]
}

/// Appends one CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// The CSV text of a query answer: a header row, then one line per interval (CRLF ends).
pub fn to_csv(rows: &[IntervalView]) -> String {
    let mut out = String::with_capacity(256 + rows.len() * 160);
    out.push_str("source,queue,queue_name,start_utc,local_start,interval_minutes,version");
    for c in CSV_FIGURE_COLUMNS {
        out.push(',');
        out.push_str(c);
    }
    out.push_str(",aht_s,asa_s,service_level_pct\r\n");
    for row in rows {
        csv_field(&mut out, &row.source);
        out.push(',');
        csv_field(&mut out, &row.queue);
        out.push(',');
        csv_field(&mut out, &row.queue_name);
        out.push(',');
        out.push_str(&row.start.format(&Rfc3339).unwrap_or_default());
        out.push(',');
        out.push_str(row.local_start.as_deref().unwrap_or(""));
        let _ = write!(out, ",{},{}", row.interval_minutes, row.version);
        for v in figure_values(&row.figures) {
            let _ = write!(out, ",{v}");
        }
        for d in derived(&row.figures) {
            out.push(',');
            out.push_str(&d);
        }
        out.push_str("\r\n");
    }
    out
}

/// `GET /api/v1/intervals.csv`: the same query as CSV (`text/csv`, as an attachment).
pub async fn get_intervals_csv(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(q): ApiQuery<IntervalQuery>,
) -> Result<Response, ApiError> {
    let answer = run_query(&state, &project, &q).await?;
    let name = match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(date) => format!("intervals-{date}.csv"),
        None => "intervals.csv".to_string(),
    };
    // Only [0-9-] can come from a valid date, so the name needs no escaping.
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = to_csv(&answer.intervals).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}

/// `GET /api/v1/intervals/missing?source=&from=&to=`: the parts of the range no accepted batch
/// of the source covered.
pub async fn get_missing(
    State(state): State<AppState>,
    Project(project): Project,
    ApiQuery(q): ApiQuery<MissingQuery>,
) -> Result<Response, ApiError> {
    let Some(source) = q.source.filter(|s| !s.is_empty()) else {
        return Err(ApiError::invalid_request(
            "missing source: give the importer source id",
        ));
    };
    let from = instant("from", q.from.as_deref())?;
    let to = instant("to", q.to.as_deref())?;
    if from >= to {
        return Err(ApiError::invalid_request(
            "from must be before to (the range is [from, to))",
        ));
    }
    let missing = state
        .store
        .missing_ranges(&project, &source, TimeRange { from, to })
        .await?;
    Ok(Json(MissingResponse { source, missing }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quarter_hours(date: &str, zone: &str) -> i64 {
        let r = local_day(date, &time_zone(zone).unwrap()).unwrap();
        (r.to - r.from).whole_minutes() / 15
    }

    #[test]
    fn local_days_have_92_96_or_100_quarter_hours() {
        assert_eq!(quarter_hours("2026-03-08", "America/New_York"), 92);
        assert_eq!(quarter_hours("2026-11-01", "America/New_York"), 100);
        assert_eq!(quarter_hours("2026-03-29", "Europe/Berlin"), 92);
        assert_eq!(quarter_hours("2026-10-25", "Europe/Berlin"), 100);
        assert_eq!(quarter_hours("2026-07-01", "Europe/Berlin"), 96);
        let r = local_day("2026-03-08", &time_zone("America/New_York").unwrap()).unwrap();
        assert_eq!(r.from, time::macros::datetime!(2026-03-08 05:00 UTC));
        assert_eq!(r.to, time::macros::datetime!(2026-03-09 04:00 UTC));
    }

    #[test]
    fn unknown_zones_and_bad_dates_are_400() {
        assert_eq!(
            time_zone("Mars/Olympus").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let berlin = time_zone("Europe/Berlin").unwrap();
        assert!(local_day("2026-02-30", &berlin).is_err());
        assert!(local_day("yesterday", &berlin).is_err());
    }

    #[test]
    fn csv_quotes_only_when_needed_and_derives_metrics() {
        let mut out = String::new();
        csv_field(&mut out, "a,b \"c\"");
        assert_eq!(out, "\"a,b \"\"c\"\"\"");
        let f = IntervalFigures {
            handled: 4,
            talk_ms: 400_000,
            hold_ms: 20_000,
            work_ms: 60_000,
            answer_wait_ms: 30_000,
            answered_within_sl: 3,
            ..IntervalFigures::default()
        };
        assert_eq!(derived(&f), ["120.0", "7.5", "75.0"]);
        assert_eq!(derived(&IntervalFigures::default()), ["", "", ""]);
    }
}
