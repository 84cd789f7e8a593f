//! UCCE / PCCE ConfigAPI emulator: `GET /unifiedconfig/config/agent[/{id}]`,
//! `/agentteam[/{id}]`, `/skillgroup[/{id}]`, paged with `startIndex`/`resultsPerPage`.
//!
//! It serves the same [`SharedData`] as the UCCX and AXL emulators: every resource is an agent
//! (supervisors have `supervisor=true`), every team an agent team, every skill a skill group.
//! `agentId`s are stable across renames (a side table keyed on the CUCM end user `pkid`). Pages are computed per request from the
//! live data, so a mutation shows on the next page. XML only (compact, as on the real system).
//!
//! Faults: the shared [`crate::FaultPlan`] (per request, by path prefix) and [`PageFaults`]
//! (per page: "the page at `startIndex=200` fails", "the 3rd request fails"). Server quirks are
//! explicit flags of [`UcceConfig`], all off by default.

mod ids;
mod pages;
mod paging;
mod render;
mod respond;
mod xml;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

pub use ids::FIRST_AGENT_ID;
pub use paging::{PageFaults, DEFAULT_PAGE_SIZE};

use crate::dataset::ContactCentre;
use crate::faults::Fault;
use crate::server::{self, Common, InjectedFault};
use crate::{EmulatorHandle, SharedData};
use ids::{AgentIndex, Stamps};
use pages::{agent_page, skill_page, team_page};
use paging::PageRules;
use render::{Ctx, AGENT_PATH, SKILL_PATH, TEAM_PATH};
use respond::{api_errors, not_found, not_found_route, ok, render_fault, truncate_if};
use xml::W;

const REALM: &str = "UCCE ConfigAPI";

/// When list entries use the `agentSummary` shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SummaryShape {
    /// Only when the client sends `summary=true` (default).
    #[default]
    OnRequest,
    /// Always, whatever the client asks (a server that only returns summaries in lists).
    Always,
    /// Never: `summary=true` is ignored and full agents are returned.
    Never,
}

/// Configuration of one UCCE ConfigAPI emulator.
#[derive(Clone, Debug)]
pub struct UcceConfig {
    /// Basic-auth user name, `user@domain` (default `administrator@example.com`).
    pub username: String,
    /// Basic-auth password (default `ciscopsdt`).
    pub password: String,
    /// Delay added to every request.
    pub latency: Duration,
    /// `(cert_pem, key_pem)`: serve HTTPS when set.
    pub tls: Option<(String, String)>,
    /// Address to bind; `127.0.0.1:0` when `None`.
    pub bind: Option<SocketAddr>,
    /// Base of the absolute `pageInfo` links; the emulator's own URL when `None`.
    pub public_base_url: Option<String>,
    /// Largest `resultsPerPage` accepted (default 100); larger answers 400
    /// `invalidInput.outOfRange` unless `clamp_page_size`.
    pub max_results_per_page: u64,
    /// Serve `max_results_per_page` instead of rejecting a larger `resultsPerPage`
    /// (default false).
    pub clamp_page_size: bool,
    /// Ignore `resultsPerPage` and always serve pages of 25, reported as such in `pageInfo`
    /// (fault mode "page size ignored by the server"; default false).
    pub ignore_page_size: bool,
    /// When list entries are `agentSummary` (default: on `summary=true`).
    pub summary_shape: SummaryShape,
    /// Every page after the first also starts with the last entry of the previous page
    /// (one duplicate per page boundary, nothing lost; default false).
    pub duplicate_across_pages: bool,
    /// `nextPage` of every page after the first (and of a lone page) points back to
    /// `startIndex=0`: a client following it blindly never ends (default false).
    pub next_page_loop: bool,
    /// Per-page faults; keep a clone to add entries while the emulator runs.
    pub page_faults: PageFaults,
    /// Seed deciding which agents lack `department`, `description`, `defaultSkillGroup`
    /// (about 20%, 25%, 25%; default 42).
    pub optional_seed: u64,
}

impl Default for UcceConfig {
    fn default() -> Self {
        UcceConfig {
            username: "administrator@example.com".into(),
            password: "ciscopsdt".into(),
            latency: Duration::ZERO,
            tls: None,
            bind: None,
            public_base_url: None,
            max_results_per_page: 100,
            clamp_page_size: false,
            ignore_page_size: false,
            summary_shape: SummaryShape::OnRequest,
            duplicate_across_pages: false,
            next_page_loop: false,
            page_faults: PageFaults::default(),
            optional_seed: 42,
        }
    }
}

/// The UCCE ConfigAPI emulator.
pub struct UcceEmulator;

#[derive(Clone)]
struct App {
    data: SharedData,
    base: String,
    index: Arc<Mutex<AgentIndex>>,
    stamps: Arc<Mutex<Stamps>>,
    cfg: Arc<UcceConfig>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl UcceEmulator {
    /// Starts serving `data`; binds `127.0.0.1:0` unless `cfg.bind` is set.
    pub async fn spawn(cfg: UcceConfig, data: SharedData) -> std::io::Result<EmulatorHandle> {
        let common = Common {
            recorder: Default::default(),
            faults: Default::default(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            latency: cfg.latency,
            in_flight: Default::default(),
            max_concurrent: None,
            realm: REALM,
            render: render_fault,
        };
        let mut index = AgentIndex::new();
        index.refresh(&data.read());
        let shared = data.clone();
        let tls = cfg.tls.clone();
        server::spawn(cfg.bind, tls.as_ref(), common, data, move |own| {
            let base = cfg
                .public_base_url
                .clone()
                .unwrap_or(own)
                .trim_end_matches('/')
                .to_string();
            let app = App {
                data: shared,
                base,
                index: Arc::new(Mutex::new(index)),
                stamps: Default::default(),
                cfg: Arc::new(cfg),
            };
            Router::new()
                .route(AGENT_PATH, get(agents))
                .route("/unifiedconfig/config/agent/{id}", get(agent))
                .route(TEAM_PATH, get(teams))
                .route("/unifiedconfig/config/agentteam/{id}", get(team))
                .route(SKILL_PATH, get(skill_groups))
                .route("/unifiedconfig/config/skillgroup/{id}", get(skill_group))
                .fallback(not_found_route)
                .with_state(app)
        })
        .await
    }
}

type Params = Query<Vec<(String, String)>>;
type Injected = Option<Extension<InjectedFault>>;

#[derive(Clone, Copy)]
enum Collection {
    Agents,
    Teams,
    Skills,
}

impl Collection {
    fn path(self) -> &'static str {
        match self {
            Collection::Agents => AGENT_PATH,
            Collection::Teams => TEAM_PATH,
            Collection::Skills => SKILL_PATH,
        }
    }
}

async fn agents(State(app): State<App>, Query(p): Params, f: Injected) -> Response {
    list(app, Collection::Agents, p, f).await
}

async fn teams(State(app): State<App>, Query(p): Params, f: Injected) -> Response {
    list(app, Collection::Teams, p, f).await
}

async fn skill_groups(State(app): State<App>, Query(p): Params, f: Injected) -> Response {
    list(app, Collection::Skills, p, f).await
}

/// What a fault leaves for the renderer.
#[derive(Default)]
struct Quirks {
    empty: bool,
    truncate: bool,
}

/// Applies the page fault of this request, if any: `Err` is the whole answer.
async fn page_fault(
    app: &App,
    path: &str,
    start: Option<u64>,
    injected: Injected,
) -> Result<Quirks, Response> {
    let mut q = Quirks {
        empty: matches!(injected, Some(Extension(InjectedFault(Fault::EmptyList)))),
        truncate: false,
    };
    match app.cfg.page_faults.take(path, start) {
        None => {}
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Err(StatusCode::GATEWAY_TIMEOUT.into_response());
        }
        Some(Fault::Unauthorized) => return Err(server::unauthorized(REALM)),
        Some(Fault::TruncatedBody) => q.truncate = true,
        Some(Fault::EmptyList) => q.empty = true,
        Some(other) => return Err(render_fault(&other, false)),
    }
    Ok(q)
}

async fn list(app: App, coll: Collection, params: Vec<(String, String)>, f: Injected) -> Response {
    let rules = PageRules {
        max: app.cfg.max_results_per_page.max(1),
        clamp: app.cfg.clamp_page_size,
        ignore: app.cfg.ignore_page_size,
    };
    let req = match paging::parse(&params, rules) {
        Ok(r) => r,
        Err(e) => return api_errors(400, &[e]),
    };
    let quirks = match page_fault(&app, coll.path(), Some(req.start), f).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let body = match coll {
        Collection::Agents => agent_page(&app, &req, quirks.empty),
        Collection::Teams => team_page(&app, &req, quirks.empty),
        Collection::Skills => skill_page(&app, &req, quirks.empty),
    };
    match body {
        Ok(b) => ok(b, quirks.truncate),
        Err(e) => api_errors(400, &[e]),
    }
}

/// Renders one object found by `find` (position/id in the data), or 404.
fn single(
    app: &App,
    id: &str,
    render_one: impl FnOnce(&mut W, &mut Ctx<'_>, u32) -> bool,
) -> Response {
    let cc: std::sync::RwLockReadGuard<'_, ContactCentre> = app.data.read();
    let mut idx = lock(&app.index);
    idx.refresh(&cc);
    let mut stamps = lock(&app.stamps);
    let mut cx = Ctx {
        cc: &cc,
        idx: &idx,
        stamps: &mut stamps,
        seed: app.cfg.optional_seed,
    };
    let mut w = W::new(2048);
    match id.trim().parse::<u32>() {
        Ok(n) if render_one(&mut w, &mut cx, n) => ok(w.out, false),
        _ => not_found(id),
    }
}

async fn agent(State(app): State<App>, Path(id): Path<String>, f: Injected) -> Response {
    let path = format!("{AGENT_PATH}/{id}");
    let quirks = match page_fault(&app, &path, None, f).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let resp = single(&app, &id, |w, cx, n| match cx.idx.position_of_id(n) {
        Some(pos) => {
            render::agent(w, cx, pos, false);
            true
        }
        None => false,
    });
    truncate_if(resp, quirks.truncate).await
}

async fn team(State(app): State<App>, Path(id): Path<String>, f: Injected) -> Response {
    let path = format!("{TEAM_PATH}/{id}");
    let quirks = match page_fault(&app, &path, None, f).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let resp = single(&app, &id, |w, cx, n| {
        let Some(t) = cx.cc.team(n) else {
            return false;
        };
        let members = render::members_of(cx, &[t]);
        let m = members.get(&n).map(Vec::as_slice).unwrap_or(&[]);
        render::team(w, cx, t, m);
        true
    });
    truncate_if(resp, quirks.truncate).await
}

async fn skill_group(State(app): State<App>, Path(id): Path<String>, f: Injected) -> Response {
    let path = format!("{SKILL_PATH}/{id}");
    let quirks = match page_fault(&app, &path, None, f).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let resp = single(&app, &id, |w, cx, n| {
        let groups = render::skill_groups(cx.cc);
        let Some(s) = groups.iter().find(|s| s.id == n) else {
            return false;
        };
        render::skill_group(w, cx, s);
        true
    });
    truncate_if(resp, quirks.truncate).await
}
