//! Adherence routes, real-time side: every agent's real-time status and the Server-Sent Events
//! stream of changes (re-evaluated when a state batch, schedule, rule or exception arrives, and
//! on a timer because activities start and end without events).

use crate::auth::{bearer_token, Project};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use axum::Json;
use futures::Stream;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::broadcast;
use wfm_adherence::{realtime as realtime_status, Inputs, Status};
use wfm_adherence::{AuthorizedException, RuleBook, ScheduledActivity};
use wfm_model::ProjectId;
use wfm_protocol::intervals::TimeRange;
use wfm_protocol::states::{AgentState, FeedGap, StateSegment};

/// Change notices for the adherence stream, and its timing. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdherenceFeed {
    notices: broadcast::Sender<ProjectId>,
    /// How often open streams re-evaluate without a notice (activities start and end without
    /// events).
    pub tick: Duration,
    /// How far back real-time evaluation looks (bounds `since`).
    pub lookback: Duration,
}

impl Default for AdherenceFeed {
    fn default() -> Self {
        AdherenceFeed::new(Duration::from_secs(5))
    }
}

impl AdherenceFeed {
    /// A feed whose streams also re-evaluate every `tick`; 12 h look-back.
    pub fn new(tick: Duration) -> Self {
        let (notices, _) = broadcast::channel(256);
        AdherenceFeed {
            notices,
            tick: tick.max(Duration::from_millis(100)),
            lookback: Duration::from_secs(12 * 3600),
        }
    }

    /// Tells the open streams of `project` to re-evaluate (no-op without streams).
    pub fn notify(&self, project: &ProjectId) {
        let _ = self.notices.send(project.clone());
    }

    /// A receiver of notices.
    pub fn subscribe(&self) -> broadcast::Receiver<ProjectId> {
        self.notices.subscribe()
    }
}

/// Middleware: after a successful `POST /api/v1/agent-states`, notifies the token's project.
pub async fn notify_states(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut project = None;
    if request.method() == Method::POST
        && request.uri().path() == wfm_protocol::routes::AGENT_STATES
    {
        project = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .and_then(|token| state.projects.authenticate(token));
    }
    let response = next.run(request).await;
    if let Some(project) = project {
        if response.status().is_success() {
            state.adherence.notify(&project);
        }
    }
    response
}

/// One agent's real-time view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealtimeView {
    /// The agent id.
    pub agent: String,
    /// `in`, `out` or `neutral`.
    pub status: Status,
    /// `true`/`false`, `null` when neutral.
    pub in_adherence: Option<bool>,
    /// Start of the current status run (clamped to the look-back window).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// Activity scheduled now.
    pub activity: Option<String>,
    /// Current state.
    pub state: Option<AgentState>,
    /// Current reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<i64>,
}

/// Body of `GET /api/v1/adherence/realtime`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealtimeBody {
    /// The evaluation instant.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Every agent with a schedule in the look-back window or a stored state, by agent id.
    pub agents: Vec<RealtimeView>,
}

/// Everything read for one evaluation, grouped by agent.
pub(crate) struct Loaded {
    rules: RuleBook,
    pub(crate) schedule: BTreeMap<String, Vec<ScheduledActivity>>,
    segments: BTreeMap<String, Vec<StateSegment>>,
    exceptions: BTreeMap<String, Vec<AuthorizedException>>,
    /// Gaps by source, and each agent's sources.
    gaps: BTreeMap<String, Vec<FeedGap>>,
    sources: BTreeMap<String, BTreeSet<String>>,
}

impl Loaded {
    pub(crate) async fn read(
        state: &AppState,
        project: &ProjectId,
        window: TimeRange,
    ) -> Result<Loaded, ApiError> {
        let store = &state.store;
        let rules = store.adherence_rules(project).await?;
        let mut loaded = Loaded {
            rules,
            schedule: BTreeMap::new(),
            segments: BTreeMap::new(),
            exceptions: BTreeMap::new(),
            gaps: BTreeMap::new(),
            sources: BTreeMap::new(),
        };
        for entry in store.schedule(project, None, window).await? {
            loaded
                .schedule
                .entry(entry.agent.clone())
                .or_default()
                .push(entry);
        }
        for segment in store.state_segments(project, None, None, window).await? {
            let sources = loaded.sources.entry(segment.agent.clone()).or_default();
            sources.insert(segment.source.clone());
            loaded
                .segments
                .entry(segment.agent.clone())
                .or_default()
                .push(segment);
        }
        for stored in store.adherence_exceptions(project, None, window).await? {
            let exception = stored.exception;
            loaded
                .exceptions
                .entry(exception.agent.clone())
                .or_default()
                .push(exception);
        }
        for gap in store.feed_gaps(project, None, window).await? {
            loaded.gaps.entry(gap.source).or_default().push(FeedGap {
                from: gap.from,
                to: gap.to,
                reason: gap.reason,
            });
        }
        Ok(loaded)
    }

    /// The agent's inputs; gaps only of the sources that report the agent.
    pub(crate) fn with_inputs<R>(&self, agent: &str, run: impl FnOnce(&Inputs<'_>) -> R) -> R {
        let mut gaps = Vec::new();
        if let Some(sources) = self.sources.get(agent) {
            for source in sources {
                gaps.extend(self.gaps.get(source).into_iter().flatten().cloned());
            }
        }
        let inputs = Inputs {
            rules: &self.rules,
            schedule: self.schedule.get(agent).map(Vec::as_slice).unwrap_or(&[]),
            segments: self.segments.get(agent).map(Vec::as_slice).unwrap_or(&[]),
            gaps: &gaps,
            exceptions: self.exceptions.get(agent).map(Vec::as_slice).unwrap_or(&[]),
        };
        run(&inputs)
    }
}

/// Every agent's real-time view at `now`, by agent id.
pub async fn compute_realtime(
    state: &AppState,
    project: &ProjectId,
    now: OffsetDateTime,
) -> Result<Vec<RealtimeView>, ApiError> {
    let lookback = state.adherence.lookback;
    let window = TimeRange {
        from: now - lookback,
        to: now,
    };
    let mut loaded = Loaded::read(state, project, window).await?;
    let mut agents: BTreeSet<String> = loaded.schedule.keys().cloned().collect();
    agents.extend(loaded.segments.keys().cloned());
    for latest in state.store.latest_states(project).await? {
        loaded
            .sources
            .entry(latest.agent.clone())
            .or_default()
            .insert(latest.source);
        agents.insert(latest.agent);
    }
    let mut views = Vec::with_capacity(agents.len());
    for agent in agents {
        let status = loaded.with_inputs(&agent, |inputs| {
            realtime_status(&agent, now, inputs, lookback)
        });
        views.push(RealtimeView {
            in_adherence: match status.status {
                Status::In => Some(true),
                Status::Out => Some(false),
                Status::Neutral => None,
            },
            agent: status.agent,
            status: status.status,
            since: status.since,
            activity: status.activity,
            state: status.state,
            reason_code: status.reason_code,
        });
    }
    Ok(views)
}

/// `GET /api/v1/adherence/realtime`: every agent's status now.
pub async fn realtime(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Json<RealtimeBody>, ApiError> {
    let now = (state.clock)();
    let agents = compute_realtime(&state, &project, now).await?;
    Ok(Json(RealtimeBody { now, agents }))
}

fn status_event(view: &RealtimeView) -> Event {
    let data = serde_json::to_string(view).unwrap_or_else(|_| "{}".to_string());
    Event::default().event("status").data(data)
}

/// What an open stream remembers between evaluations.
struct Watch {
    state: AppState,
    project: ProjectId,
    notices: broadcast::Receiver<ProjectId>,
    ticker: tokio::time::Interval,
    last: HashMap<String, RealtimeView>,
    pending: VecDeque<Event>,
}

impl Watch {
    /// Re-evaluates and queues an event for every agent whose status, activity or state
    /// changed (or who is new).
    async fn evaluate(&mut self) {
        let now = (self.state.clock)();
        let views = match compute_realtime(&self.state, &self.project, now).await {
            Ok(views) => views,
            Err(e) => {
                tracing::warn!(project = %self.project, error = %e.message, "adherence stream: evaluation failed");
                return;
            }
        };
        for view in views {
            let changed = match self.last.get(&view.agent) {
                None => true,
                Some(old) => {
                    old.status != view.status
                        || old.activity != view.activity
                        || old.state != view.state
                        || old.reason_code != view.reason_code
                }
            };
            if changed {
                self.pending.push_back(status_event(&view));
                self.last.insert(view.agent.clone(), view);
            }
        }
    }

    /// Waits for a notice of this project, a lagged receiver or a tick; `false` when the
    /// notices are closed.
    async fn wait(&mut self) -> bool {
        loop {
            tokio::select! {
                notice = self.notices.recv() => match notice {
                    Ok(project) if project != self.project => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                _ = self.ticker.tick() => return true,
            }
        }
    }
}

/// `GET /api/v1/adherence/stream`: Server-Sent Events named `status`, each a [`RealtimeView`]
/// as JSON: first one per agent, then one per agent whose status, activity or state changes.
/// Re-evaluates after every state batch, schedule, rule or exception change of the project and
/// every [`AdherenceFeed::tick`].
pub async fn stream(
    State(state): State<AppState>,
    Project(project): Project,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let notices = state.adherence.subscribe();
    let tick = state.adherence.tick;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watch = Watch {
        state,
        project,
        notices,
        ticker,
        last: HashMap::new(),
        pending: VecDeque::new(),
    };
    // The first evaluation answers errors (e.g. storage down) with the usual error body.
    let now = (watch.state.clock)();
    for view in compute_realtime(&watch.state, &watch.project, now).await? {
        watch.pending.push_back(status_event(&view));
        watch.last.insert(view.agent.clone(), view);
    }
    let events = futures::stream::unfold(watch, |mut watch| async move {
        loop {
            if let Some(event) = watch.pending.pop_front() {
                return Some((Ok(event), watch));
            }
            if !watch.wait().await {
                return None;
            }
            watch.evaluate().await;
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
