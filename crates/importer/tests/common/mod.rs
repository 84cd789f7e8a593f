//! End-to-end harness: UCCX + AXL emulators (HTTPS), a hub (HTTPS, SQLite or PostgreSQL) and an
//! importer configured through a real importer.toml.

#![allow(dead_code)]

pub mod crash;
pub mod truth;

use std::path::PathBuf;
use wfm_config::ImporterConfig;
use wfm_emulators::axl::{AxlConfig, AxlEmulator};
use wfm_emulators::dataset::DatasetSpec;
use wfm_emulators::uccx::{UccxConfig, UccxEmulator};
use wfm_emulators::{EmulatorHandle, SharedData};
use wfm_hub::server::RunningHub;
use wfm_importer::{SyncJob, SyncOptions, SyncReport};
use wfm_model::ProjectId;
use wfm_protocol::{Page, UserQuery, UserView};
use wfm_store::testing::TestDatabase;
use wfm_telemetry::Metrics;

/// Which hub storage backend a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub data: SharedData,
    pub uccx: EmulatorHandle,
    pub axl: EmulatorHandle,
    pub hub: RunningHub,
    pub dir: tempfile::TempDir,
    pub importer_toml: PathBuf,
    pub config: ImporterConfig,
    /// The certificate every loopback server uses (trusted through `ca_file`).
    pub cert: PathBuf,
    /// Its PEM pair, for emulators a test starts itself.
    pub tls: (String, String),
    _db: TestDatabase,
}

pub fn small_spec() -> DatasetSpec {
    DatasetSpec {
        agents: 60,
        teams: 6,
        supervisors: 6,
        ..DatasetSpec::default()
    }
}

pub fn project() -> ProjectId {
    ProjectId::new("e2e").unwrap()
}

impl Env {
    pub async fn start(backend: Backend, spec: DatasetSpec) -> Env {
        Self::start_with(backend, spec, "").await
    }

    /// `extra_uccx` is appended to the [uccx] table (e.g. `imported_groups = […]`).
    pub async fn start_with(backend: Backend, spec: DatasetSpec, extra_uccx: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let pem = wfm_emulators::tls::self_signed(&[]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &pem.cert_pem).unwrap();
        std::fs::write(&key, &pem.key_pem).unwrap();
        let token = "e2e-token-0123456789abcdef0123456789abcdef";
        let data = SharedData::generate(&spec);
        let tls = Some((pem.cert_pem.clone(), pem.key_pem.clone()));
        let uccx = UccxEmulator::spawn(
            UccxConfig {
                tls: tls.clone(),
                ..UccxConfig::default()
            },
            data.clone(),
        )
        .await
        .unwrap();
        let axl = AxlEmulator::spawn(
            AxlConfig {
                tls,
                max_rows_per_query: 50,
                ..AxlConfig::default()
            },
            data.clone(),
        )
        .await
        .unwrap();
        let db = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let hub_toml = format!(
            "[server]\nbind = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
             [storage]\nurl = \"{}\"\nmax_connections = 4\n{}\
             [[projects]]\nid = \"e2e\"\ntoken = \"{token}\"\nroles = [\"agent\", \"supervisor\", \"team-lead\"]\n",
            cert.display(),
            key.display(),
            db.url(),
            wfm_store::testing::encryption_toml()
        );
        let hub_config = wfm_config::parse_hub(&hub_toml, "hub.toml", &|_| None).unwrap();
        let hub = wfm_hub::server::start(hub_config).await.unwrap();
        let importer = format!(
            "[hub]\nurl = \"{hub}\"\nproject = \"e2e\"\ntoken = \"{token}\"\nca_file = \"{cert}\"\n\
             [sync]\nmax_disable_ratio = 0.2\n\
             [sync.role_equivalents]\nagent = \"agent\"\nsupervisor = \"supervisor\"\nprimary_supervisor = \"team-lead\"\n\
             [uccx]\nhost = \"127.0.0.1\"\nport = {uccx_port}\nusername = \"administrator\"\npassword = \"ciscopsdt\"\nca_file = \"{cert}\"\nretries = 2\n{extra_uccx}\n\
             [cucm]\nhost = \"127.0.0.1\"\nport = {axl_port}\nusername = \"axladmin\"\npassword = \"ciscopsdt\"\nca_file = \"{cert}\"\nbatch_size = 40\nretries = 3\n",
            hub = hub.base_url(),
            cert = cert.display(),
            uccx_port = uccx.addr().port(),
            axl_port = axl.addr().port(),
        );
        let importer_toml = dir.path().join("importer.toml");
        std::fs::write(&importer_toml, &importer).unwrap();
        let config = wfm_config::load_importer(&importer_toml).unwrap();
        Env {
            data,
            uccx,
            axl,
            hub,
            dir,
            importer_toml,
            config,
            cert,
            tls: (pem.cert_pem.clone(), pem.key_pem.clone()),
            _db: db,
        }
    }

    /// Appends TOML (e.g. `[[ucce]]` tables) to importer.toml and reloads the config.
    pub fn add_config(&mut self, toml: &str) {
        let mut text = std::fs::read_to_string(&self.importer_toml).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(&self.importer_toml, text).unwrap();
        self.config = wfm_config::load_importer(&self.importer_toml).unwrap();
    }

    /// Users of one source.
    pub async fn users_of(&self, source: &str) -> Vec<UserView> {
        self.users()
            .await
            .into_iter()
            .filter(|u| u.source == source)
            .collect()
    }

    pub fn job(&self) -> SyncJob {
        SyncJob::new(&self.config, Metrics::new()).unwrap()
    }

    pub async fn sync(&self) -> SyncReport {
        self.job().run(SyncOptions::default()).await.unwrap()
    }

    pub async fn users(&self) -> Vec<UserView> {
        let mut all = Vec::new();
        loop {
            let page: Page<UserView> = self
                .hub
                .store
                .list_users(
                    &project(),
                    &UserQuery {
                        offset: Some(all.len() as u64),
                        limit: Some(1000),
                        ..UserQuery::default()
                    },
                )
                .await
                .unwrap();
            let n = page.items.len();
            all.extend(page.items);
            if n == 0 || all.len() as u64 >= page.total {
                return all;
            }
        }
    }

    pub async fn run_count(&self) -> u64 {
        self.hub
            .store
            .list_runs(&project(), 0, 1)
            .await
            .unwrap()
            .total
    }

    pub async fn finish(self) {
        self.uccx.shutdown();
        self.axl.shutdown();
        let _ = self.hub.shutdown().await;
        self._db.finish().await;
    }
}

/// Checks the hub holds exactly the emulator's ground truth: every resource as an enabled user
/// with the right names, e-mail, team and skills.
pub async fn assert_matches_ground_truth(env: &Env) {
    let cc = env.data.snapshot();
    let users = env.users().await;
    let enabled: Vec<&UserView> = users.iter().filter(|u| u.enabled).collect();
    assert_eq!(
        enabled.len(),
        cc.resources.len(),
        "enabled users vs UCCX resources"
    );
    for r in &cc.resources {
        let u = enabled
            .iter()
            .find(|u| u.username == r.user_id)
            .unwrap_or_else(|| panic!("user {} missing at the hub", r.user_id));
        let end_user = cc.end_users.iter().find(|e| e.userid == r.user_id);
        assert_eq!(
            u.email,
            end_user.and_then(|e| e.mailid.clone()),
            "email of {}",
            r.user_id
        );
        if let Some(e) = end_user {
            assert_eq!(
                u.external_id, e.pkid,
                "{} keyed on the CUCM pkid",
                r.user_id
            );
        }
        assert_eq!(
            u.last_name.as_deref(),
            Some(r.last_name.as_str()).filter(|s| !s.is_empty())
        );
        assert_eq!(u.attributes["agentId"], vec![r.user_id.clone()]);
        assert_eq!(u.attributes["phoneExtension"], vec![r.extension.clone()]);
        let team_names: Vec<&str> = u.groups.iter().map(|g| g.name.as_str()).collect();
        let expected: Vec<&str> = r.team.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(team_names, expected, "team of {}", r.user_id);
        assert_eq!(u.skills.len(), r.skills.len(), "skills of {}", r.user_id);
        for (name, level, _) in &r.skills {
            assert_eq!(
                u.skills.get(name),
                Some(level),
                "skill {name} of {}",
                r.user_id
            );
        }
    }
}
