//! Crash and outage harness (issue 6): a whole site — UCCX + CUCM AXL emulators and a hub (from
//! [`Env`]), a CTI Server emulator, an SQLite reporting database filled by `wfm_hrdb`, optionally
//! a fault proxy between importer and hub — and the real `wfm-importer run` as a child process
//! that tests SIGKILL, stop gracefully and restart. Sources keep changing between runs (calls
//! land, users are renamed, moved, re-mailed; agents change state) and [`Site::converged`]
//! compares the hub with the ground truth ([`super::truth`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;
use wfm_emulators::cti::{AgentState as EmuState, CtiAgent, CtiConfig, CtiEmulator, CtiHandle};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::SharedData;
use wfm_faultproxy::{FaultProxy, ProxyHandle};
use wfm_hrdb::{Centre, HrdbSpec};

use super::truth::{self, LiveSummary};
use super::{small_spec, Backend, Env};

/// Source id of the live states.
pub const CTI_SOURCE: &str = "cti";
/// Source id of the queue statistics.
pub const HR_SOURCE: &str = "hr";

/// How the importer reaches the hub.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// Straight to the hub (HTTPS).
    Direct,
    /// Through a raw TCP fault proxy (HTTPS end to end): link cuts.
    Tcp,
    /// Through an HTTP fault proxy to a plain-HTTP hub: 429/503 with `Retry-After`.
    Http,
}

/// What [`Site::start`] builds.
#[derive(Clone, Copy, Debug)]
pub struct SiteOptions {
    /// Hub storage.
    pub backend: Backend,
    /// Importer → hub path.
    pub link: Link,
    /// `[outbox] max_mib`, if set.
    pub max_mib: Option<u64>,
    /// Agents of the CTI emulator.
    pub cti_agents: usize,
}

/// The seed of a test: `WFM_CRASH_SEED` if set, else the clock; printed so a failure can be
/// replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("WFM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: seed {seed} (replay with WFM_CRASH_SEED={seed})");
    seed
}

/// One site under test.
pub struct Site {
    /// UCCX, AXL, hub, temp dir and importer.toml.
    pub env: Env,
    /// The CTI Server emulator.
    pub cti: CtiHandle,
    /// The fault proxy in front of the hub, if any.
    pub proxy: Option<ProxyHandle>,
    /// The generated reporting database's rows.
    pub centre: Centre,
    /// Its SQLite file.
    pub hrdb: PathBuf,
    /// Rows whose write time is up to this have landed in the reporting database.
    pub until: OffsetDateTime,
    /// When the site started (the live states' range starts here).
    pub started: OffsetDateTime,
    /// The importer's outbox directory.
    pub outbox_dir: PathBuf,
    /// The test's random choices.
    pub rng: StdRng,
    /// Its seed.
    pub seed: u64,
    agents: Vec<CtiAgent>,
    next_reason: u16,
    runs: u32,
    edits: u32,
}

impl Site {
    /// Starts emulators, reporting database and hub, and writes importer.toml for `run`.
    pub async fn start(opts: SiteOptions, seed: u64) -> Site {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut env = Env::start(opts.backend, small_spec()).await;
        let old_url = env.hub.base_url();
        if opts.link == Link::Http {
            let plain = plain_hub(&env).await;
            let tls = std::mem::replace(&mut env.hub, plain);
            let _ = tls.shutdown().await;
        }
        let proxy = match opts.link {
            Link::Direct => None,
            Link::Tcp => Some(FaultProxy::spawn(env.hub.addr, None).await.unwrap()),
            Link::Http => Some(FaultProxy::spawn_http(env.hub.addr, None).await.unwrap()),
        };
        // Users are synced every 10 s (the minimum), so that changes made while the hub is away
        // reach it soon after it is back.
        let text = std::fs::read_to_string(&env.importer_toml).unwrap();
        std::fs::write(
            &env.importer_toml,
            text.replacen("[sync]\n", "[sync]\ninterval = \"10s\"\n", 1),
        )
        .unwrap();
        if let Some(p) = &proxy {
            let new = match opts.link {
                Link::Http => format!("url = \"http://{}\"\nallow_insecure_http = true", p.addr()),
                _ => format!("url = \"https://{}\"", p.addr()),
            };
            let path = &env.importer_toml;
            let text = std::fs::read_to_string(path).unwrap();
            let text = text.replace(&format!("url = \"{old_url}\""), &new);
            std::fs::write(path, text).unwrap();
        }

        let now = OffsetDateTime::now_utc();
        let from = floor_quarter(now - time::Duration::hours(3));
        let spec = HrdbSpec {
            seed: rng.gen(),
            agents: 12,
            csqs: 3,
            days: 1,
            from,
            utc_offset_minutes: midday_offset(from + time::Duration::minutes(90)),
            ..HrdbSpec::new()
        };
        let centre = wfm_hrdb::generate(&spec).unwrap();
        let hrdb = env.dir.path().join("hrdb.sqlite");
        let until = from + time::Duration::minutes(30);
        wfm_hrdb::write_sqlite(&centre, &hrdb, Some(until))
            .await
            .unwrap();

        let cti = CtiEmulator::spawn(
            CtiConfig::default(),
            SharedData::generate(&DatasetSpec {
                agents: opts.cti_agents,
                teams: 1,
                supervisors: 1,
                ..DatasetSpec::default()
            }),
        )
        .await
        .unwrap();
        let agents = cti.agents();
        let (client_id, password) = cti.credentials();
        let data_dir = env.dir.path().join("data");
        let outbox_dir = data_dir.join("outbox");
        let key: String = (0..32).map(|i| format!("{:02x}", i * 7 + 3)).collect();
        let max_mib = opts
            .max_mib
            .map(|m| format!("max_mib = {m}\n"))
            .unwrap_or_default();
        env.add_config(&format!(
            "[importer]\ndata_dir = \"{data}\"\nmetrics_bind = \"127.0.0.1:0\"\n\n\
             [outbox]\nkey = \"{key}\"\n{max_mib}\n\
             [[history]]\nsource_id = \"{HR_SOURCE}\"\ndialect = \"uccx\"\nsqlite_path = \"{hrdb}\"\n\
             time_zone = \"UTC\"\nlookback = \"6h\"\nclose_delay = \"1m\"\npoll_interval = \"10s\"\n\
             agent_states = false\n\n\
             [[cti]]\nsource_id = \"{CTI_SOURCE}\"\nside_a = \"{side_a}\"\nclient_id = \"{client_id}\"\n\
             client_password = \"{password}\"\nheartbeat = \"5s\"\nbatch_max_events = 50\n\
             batch_max_delay = \"20ms\"\ngap_settle = \"1s\"\n",
            data = data_dir.display(),
            hrdb = hrdb.display(),
            side_a = cti.addr(),
        ));
        Site {
            env,
            cti,
            proxy,
            centre,
            hrdb,
            until,
            started: now,
            outbox_dir,
            rng,
            seed,
            agents,
            next_reason: 100,
            runs: 0,
            edits: 0,
        }
    }

    /// Starts `wfm-importer run` (stdout and stderr to `importer-<n>.log` in the temp dir; log
    /// filter `WFM_CRASH_LOG`, default `info`).
    pub fn start_importer(&mut self) -> Importer {
        self.runs += 1;
        let log = self
            .env
            .dir
            .path()
            .join(format!("importer-{}.log", self.runs));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
            .arg("run")
            .arg("--config")
            .arg(&self.env.importer_toml)
            .env(
                "RUST_LOG",
                std::env::var("WFM_CRASH_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Importer { child, log }
    }

    /// One NOT_READY event per CTI agent, each with a reason code never used before; returns
    /// (agent, reason) of each. Only sessions open right now get them.
    pub fn push_round(&mut self) -> Vec<(String, u16)> {
        let mut round = Vec::new();
        for a in &self.agents {
            let reason = self.next_reason;
            self.next_reason = self.next_reason.checked_add(1).unwrap();
            self.cti.push_event(a.event(EmuState::NotReady, reason));
            round.push((a.agent_id.clone(), reason));
        }
        round
    }

    /// Every event the emulator wrote to a socket: (agent, state, reason), in order.
    pub fn sent(&self) -> Vec<(String, EmuState, u16)> {
        self.cti
            .sent()
            .into_iter()
            .map(|(_, s)| (s.agent_id, s.state, s.reason_code))
            .collect()
    }

    /// Waits (at most 30 s) until the emulator has sent OPEN_CONF more than `opens_before` times.
    pub async fn wait_connected(&self, opens_before: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.cti.opens() <= opens_before {
            assert!(
                Instant::now() < deadline,
                "seed {}: the importer did not open a CTI session within 30 s",
                self.seed
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// New call rows land in the reporting database: `minutes` more of write time (never closer
    /// than 45 minutes to now, so every landed row is in a closed interval inside the look-back).
    pub async fn land_calls(&mut self, minutes: i64) {
        let limit = OffsetDateTime::now_utc() - time::Duration::minutes(45);
        self.until = (self.until + time::Duration::minutes(minutes)).min(limit);
        wfm_hrdb::write_sqlite(&self.centre, &self.hrdb, Some(self.until))
            .await
            .unwrap();
    }

    /// One random change of the UCCX/CUCM data: rename, team move or new e-mail of an agent.
    pub fn change_users(&mut self) {
        self.edits += 1;
        let n = self.edits;
        let mut cc = self.env.data.write();
        let agents: Vec<String> = cc
            .resources
            .iter()
            .filter(|r| r.kind == 1)
            .map(|r| r.user_id.clone())
            .collect();
        if agents.is_empty() {
            return;
        }
        let who = agents[self.rng.gen_range(0..agents.len())].clone();
        match self.rng.gen_range(0..3) {
            0 => {
                cc.rename_user(&who, &format!("renamed.{n}"));
            }
            1 => {
                let teams: Vec<u32> = cc.teams.iter().map(|t| t.team_id).collect();
                let team = teams[self.rng.gen_range(0..teams.len())];
                cc.move_to_team(&who, Some(team));
            }
            _ => {
                if let Some(u) = cc.end_user_mut(&who) {
                    u.mailid = Some(format!("{who}.{n}@example.com"));
                }
            }
        }
    }

    /// Simulates a torn write at the tail of the newest outbox segment: appends the first bytes
    /// of that segment (a frame header that does not belong there, cut short) or, with
    /// `garbage`, random bytes. Returns the file, or `None` when there is no segment yet.
    pub fn tear_outbox_tail(&mut self, garbage: bool) -> Option<PathBuf> {
        let newest = newest_segment(&self.outbox_dir)?;
        let bytes = std::fs::read(&newest).unwrap();
        let tail: Vec<u8> = if garbage || bytes.len() < 16 {
            (0..37).map(|_| self.rng.gen()).collect()
        } else {
            bytes[..bytes.len().min(61)].to_vec()
        };
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&newest)
            .unwrap();
        f.write_all(&tail).unwrap();
        f.sync_all().unwrap();
        Some(newest)
    }

    /// Users, intervals and live states against the ground truth; `must_have` are live events
    /// that must be at the hub.
    pub async fn check(&self, must_have: &[(String, u16)]) -> Result<LiveSummary, String> {
        truth::users_diff(&self.env).await?;
        let got = truth::hub_intervals(&self.env, HR_SOURCE, self.started).await;
        truth::compare_intervals(&got, &truth::interval_truth(&self.centre, self.until))?;
        let sent = self.sent();
        truth::live_diff(&self.env, CTI_SOURCE, self.started, &sent, must_have).await
    }

    /// Waits (at most `timeout`) for [`Site::check`] to pass; the last difference otherwise.
    pub async fn converged(
        &self,
        must_have: &[(String, u16)],
        timeout: Duration,
    ) -> Result<LiveSummary, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.check(must_have).await {
                Ok(summary) => return Ok(summary),
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "seed {}: not converged after {timeout:?}: {e}",
                        self.seed
                    ))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Stops everything.
    pub async fn finish(self) {
        if let Some(p) = self.proxy {
            p.shutdown().await;
        }
        self.cti.shutdown();
        self.env.finish().await;
    }
}

/// A running `wfm-importer run`.
pub struct Importer {
    child: Child,
    /// Its log file.
    pub log: PathBuf,
}

impl Importer {
    /// Panics (with the log) if the importer exited by itself.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the importer exited by itself ({status}); its log:\n{}",
                self.log_text()
            );
        }
    }

    /// The log so far, without terminal colour codes.
    pub fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Waits (at most `timeout`) for a log line containing `needle`.
    pub async fn wait_log(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return true;
            }
            self.assert_running();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// SIGKILL (after checking it was still running).
    pub fn kill(mut self) {
        self.assert_running();
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits (at most 60 s) for a successful exit; returns the log.
    pub async fn stop(mut self) -> String {
        self.assert_running();
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self.log_text();
                assert!(
                    status.success(),
                    "the importer exited with {status}:\n{log}"
                );
                return log;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "the importer did not stop within 60 s of SIGTERM:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Importer {
    /// A test that fails midway must not leave its importer running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `text` without `ESC [ … m` colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The newest `seg-*.log` of an outbox directory.
pub fn newest_segment(dir: &Path) -> Option<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seg-") && n.ends_with(".log"))
        })
        .collect();
    segments.sort();
    segments.pop()
}

/// A plain-HTTP hub on `env`'s database, same project and token (for the HTTP fault proxy).
async fn plain_hub(env: &Env) -> wfm_hub::server::RunningHub {
    let hub_toml = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\
         [storage]\nurl = \"{}\"\nmax_connections = 4\n{}\
         [[projects]]\nid = \"e2e\"\ntoken = \"{}\"\nroles = [\"agent\", \"supervisor\", \"team-lead\"]\n",
        env._db.url(),
        wfm_store::testing::encryption_toml(),
        env.config.hub.token.expose(),
    );
    let config = wfm_config::parse_hub(&hub_toml, "hub.toml", &|_| None).unwrap();
    wfm_hub::server::start(config).await.unwrap()
}

fn floor_quarter(t: OffsetDateTime) -> OffsetDateTime {
    let s = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(s - s.rem_euclid(900)).unwrap()
}

/// The UTC offset (minutes, within ±12 h) that puts `t` at 13:00 local time, so that the
/// generated calls fall in business hours whatever time the test runs.
fn midday_offset(t: OffsetDateTime) -> i32 {
    let minute = i32::from(t.hour()) * 60 + i32::from(t.minute());
    let mut offset = (13 * 60 - minute).rem_euclid(24 * 60);
    if offset > 12 * 60 {
        offset -= 24 * 60;
    }
    offset
}
