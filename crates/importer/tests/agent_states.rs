//! Agent states end to end: a generated reporting database on real PostgreSQL read through
//! unixODBC + psqlODBC (UCCX `agentstatedetail`, UCCE `agent_state_trace`), normalised and
//! compared with the generator's own rows; reason codes from the Finesse emulator; a Finesse
//! 401 through the real binary.

#![cfg(feature = "odbc")]

mod common;

use common::{small_spec, Backend, Env};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wfm_emulators::finesse::{Category, FinesseConfig, FinesseEmulator, ReasonCodeStore};
use wfm_emulators::{EmulatorHandle, SharedData};
use wfm_hrdb::{generate, write_postgres, Centre, HrdbSpec};
use wfm_importer::history::{windows, HistoryJob};
use wfm_importer::hub_client::HubClient;
use wfm_importer::reason_codes::{self, ReasonCodeError};
use wfm_protocol::states::{AgentState, ReasonCategory, StateEvent};
use wfm_store::testing::TestDatabase;
use wfm_telemetry::Metrics;

const FROM: OffsetDateTime = datetime!(2026-01-05 00:00 UTC);

fn spec(trace: bool) -> HrdbSpec {
    HrdbSpec {
        agents: 12,
        csqs: 3,
        days: 1,
        from: FROM,
        agent_state_trace: trace,
        ..HrdbSpec::new()
    }
}

fn odbc_string(url: &str) -> String {
    let rest = url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let (auth, hostdb) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = auth.split(':').next().unwrap_or("postgres");
    let (hostport, db) = hostdb.split_once('/').unwrap();
    let db = db.split('?').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    format!(
        "Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={db};Uid={user};Pwd=;CommLog=0;Debug=0;"
    )
}

struct Site {
    env: Env,
    hr: TestDatabase,
    pool: sqlx::PgPool,
    centre: Centre,
    finesse: EmulatorHandle,
    codes: ReasonCodeStore,
}

impl Site {
    /// A generated, fully written reporting database, the Finesse emulator (HTTPS) and a hub;
    /// `finesse_password` goes into `[finesse]`.
    async fn start(dialect: &str, finesse_password: &str) -> Site {
        let hr = TestDatabase::postgres().await;
        let pool = wfm_hrdb::connect_postgres(hr.url()).await.unwrap();
        let centre = generate(&spec(dialect == "ucce")).unwrap();
        write_postgres(&centre, &pool, None).await.unwrap();
        let mut env = Env::start(Backend::Sqlite, small_spec()).await;
        let codes = ReasonCodeStore::defaults();
        let finesse = FinesseEmulator::spawn(
            FinesseConfig {
                tls: Some(env.tls.clone()),
                reason_codes: codes.clone(),
                ..FinesseConfig::default()
            },
            SharedData::generate(&small_spec()),
        )
        .await
        .unwrap();
        let port = finesse.base_url().rsplit(':').next().unwrap().to_string();
        let data_dir = env.dir.path().join("data");
        env.add_config(&format!(
            "[importer]\ndata_dir = \"{}\"\nmetrics_bind = \"127.0.0.1:0\"\n\n[[history]]\nsource_id = \"hr\"\ndialect = \"{dialect}\"\n\
             connection_string = \"{}\"\ntime_zone = \"America/New_York\"\nlookback = \"4h\"\nchunk = \"6h\"\n\n\
             [finesse]\nhost = \"localhost\"\nport = {port}\nusername = \"administrator\"\npassword = \"{finesse_password}\"\nca_file = \"{}\"\nretries = 0\n",
            data_dir.display(),
            odbc_string(hr.url()),
            env.cert.display(),
        ));
        Site {
            env,
            hr,
            pool,
            centre,
            finesse,
            codes,
        }
    }

    fn job(&self) -> HistoryJob {
        let cfg = &self.env.config;
        HistoryJob::new(
            cfg.history[0].clone(),
            HubClient::new(&cfg.hub).unwrap(),
            &cfg.importer.data_dir,
            Metrics::new(),
        )
    }

    async fn finish(self) {
        self.finesse.shutdown();
        self.pool.close().await;
        self.env.finish().await;
        self.hr.finish().await;
    }
}

/// The normalised state of a UCCX event type as documented on `AgentState` (the UCCE trace
/// value the generator writes for it maps to the same state).
fn documented(eventtype: i16) -> AgentState {
    match eventtype {
        1 => AgentState::LoggedIn,
        2 => AgentState::NotReady,
        3 => AgentState::Ready,
        4 => AgentState::Reserved,
        5 => AgentState::Talking,
        6 => AgentState::Work,
        7 => AgentState::LoggedOut,
        _ => AgentState::Unknown,
    }
}

/// The generator's state rows as events: (agent, at ms, state, reason, raw), time-ordered.
/// UCCE: agent = skilltargetid, the instant nudged by 1 ms where an agent has two events at
/// one instant (as the generator writes the trace key).
fn ground_truth(c: &Centre, ucce: bool) -> Vec<(String, i64, AgentState, Option<i64>, String)> {
    let mut last: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for s in &c.states {
        let mut at = s.at.0;
        if ucce {
            let prev = last.get(&s.agentid).copied().unwrap_or(i64::MIN);
            at = at.max(prev.saturating_add(1));
            last.insert(s.agentid, at);
        }
        let reason = (s.reasoncode != 0).then_some(i64::from(s.reasoncode));
        let (agent, raw) = if ucce {
            let trace = match s.eventtype {
                1 => 1,
                2 => 2,
                3 => 3,
                4 => 8,
                5 => 4,
                6 => 5,
                7 => 0,
                _ => 14,
            };
            (
                Centre::skill_target_id(s.agentid).to_string(),
                format!("ucce:{trace}"),
            )
        } else {
            (s.agentid.to_string(), format!("uccx:{}", s.eventtype))
        };
        out.push((agent, at, documented(s.eventtype), reason, raw));
    }
    out.sort();
    out.dedup();
    out
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn as_tuple(e: &StateEvent) -> (String, i64, AgentState, Option<i64>, String) {
    let ms = (e.at.unix_timestamp_nanos() / 1_000_000) as i64;
    (e.agent.clone(), ms, e.state, e.reason_code, e.raw.clone())
}

/// Every window of the generated day, read through ODBC and normalised, equals the generator's
/// rows; each batch replaces exactly its window.
async fn windows_match_the_generator(dialect: &str) {
    let site = Site::start(dialect, "ciscopsdt").await;
    let job = site.job();
    let mut got = Vec::new();
    for w in windows(
        FROM,
        FROM + Duration::days(1),
        std::time::Duration::from_secs(6 * 3600),
        15,
    ) {
        let built = job.build_states_window(w).await.unwrap();
        assert_eq!(built.batch.window, Some(w));
        assert!(built.unknown.is_empty(), "{:?}", built.unknown);
        for e in &built.batch.events {
            assert!(e.at >= w.from && e.at < w.to);
        }
        got.extend(built.batch.events.iter().map(as_tuple));
    }
    got.sort();
    let (lo, hi) = (ms(FROM), ms(FROM + Duration::days(1)));
    let truth: Vec<_> = ground_truth(&site.centre, dialect == "ucce")
        .into_iter()
        .filter(|t| t.1 >= lo && t.1 < hi)
        .collect();
    assert!(!truth.is_empty());
    assert_eq!(got.len(), truth.len(), "event count");
    let first_diff = got.iter().zip(&truth).find(|(a, b)| a != b);
    assert!(
        first_diff.is_none(),
        "first difference (got, truth): {first_diff:?}"
    );
    assert!(got
        .iter()
        .any(|e| e.2 == AgentState::NotReady && e.3.is_some()));
    site.finish().await;
}

#[tokio::test]
async fn uccx_agent_state_detail_over_odbc_matches_the_generator() {
    windows_match_the_generator("uccx").await;
}

#[tokio::test]
async fn ucce_agent_state_trace_over_odbc_matches_the_generator_in_utc() {
    windows_match_the_generator("ucce").await;
}

#[tokio::test]
async fn reason_codes_from_the_finesse_emulator_become_one_set() {
    let site = Site::start("uccx", "ciscopsdt").await;
    let f = site.env.config.finesse.clone().unwrap();
    let client = reason_codes::client(&f, Metrics::new()).unwrap();
    let set = reason_codes::reason_code_set("finesse", &client.all_reason_codes().await.unwrap());
    let served = site.codes.all();
    assert_eq!(set.codes.len(), served.len());
    for code in &served {
        let got = set
            .codes
            .iter()
            .find(|c| c.id == code.id.to_string())
            .unwrap();
        assert_eq!(
            (got.code, got.label.as_str()),
            (i64::from(code.code), code.label.as_str())
        );
        let category = match code.category {
            Category::NotReady => ReasonCategory::NotReady,
            Category::Logout => ReasonCategory::Logout,
        };
        assert_eq!(got.category, category);
    }
    site.finish().await;
}

#[tokio::test]
async fn finesse_401_is_a_clear_error_naming_the_settings() {
    let site = Site::start("uccx", "wrong-secret").await;
    let f = site.env.config.finesse.clone().unwrap();
    let hub = HubClient::new(&site.env.config.hub).unwrap();
    let err = reason_codes::sync_reason_codes(&f, &hub, &Metrics::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReasonCodeError::Unauthorized { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("finesse.username") && text.contains("finesse.password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    let lines = wfm_importer::check::check_all(&site.env.config, &Metrics::new()).await;
    let line = lines
        .iter()
        .find(|l| l.component.starts_with("finesse"))
        .unwrap();
    assert!(
        !line.ok && line.detail.contains("finesse.password"),
        "{line:?}"
    );
    // The history line probes the agent-state table too.
    let history = lines
        .iter()
        .find(|l| l.component.starts_with("history"))
        .unwrap();
    assert!(
        history.ok && history.detail.contains("agentstatedetail"),
        "{history:?}"
    );
    site.finish().await;
}

async fn binary(site: &Site, args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
        .arg("--config")
        .arg(&site.env.importer_toml)
        .args(args)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn binary_sync_reason_codes_with_a_wrong_password_fails_naming_the_fix() {
    let site = Site::start("uccx", "wrong-secret").await;
    let (code, text) = binary(&site, &["sync", "reason-codes"]).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("refused user 'administrator'") && text.contains("finesse.password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    let (code, text) = binary(
        &site,
        &[
            "repair",
            "states",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-06",
        ],
    )
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("backfill states"), "{text}");
    site.finish().await;
}

#[tokio::test]
async fn binary_backfill_states_puts_codes_and_the_timeline_at_the_hub() {
    let site = Site::start("uccx", "ciscopsdt").await;
    let (code, text) = binary(
        &site,
        &[
            "backfill",
            "states",
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            "2026-01-06T00:00:00Z",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("reason codes sent"), "{text}");
    let hub = HubClient::new(&site.env.config.hub).unwrap();
    let truth = ground_truth(&site.centre, false);
    let agent = truth[0].0.clone();
    let segments = hub
        .agent_states("hr", &agent, FROM, FROM + Duration::days(1))
        .await
        .unwrap();
    let starts: Vec<i64> = segments
        .iter()
        .map(|s| (s.start.unix_timestamp_nanos() / 1_000_000) as i64)
        .collect();
    let want: Vec<i64> = truth.iter().filter(|t| t.0 == agent).map(|t| t.1).collect();
    assert_eq!(starts, want);
    // Re-running replaces each window: same timeline.
    let (code, text) = binary(
        &site,
        &[
            "backfill",
            "states",
            "--from",
            "2026-01-05T00:00:00Z",
            "--to",
            "2026-01-06T00:00:00Z",
            "--restart",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    let again = hub
        .agent_states("hr", &agent, FROM, FROM + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(again, segments);
    site.finish().await;
}
