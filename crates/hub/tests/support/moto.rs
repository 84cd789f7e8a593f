//! A moto S3 server (PyPI `moto[server]`) on a free loopback port for one test, killed when the
//! guard is dropped (also when the test panics). Shared by the hub's and the importer's bulk
//! tests (`#[path]`-included). A missing `python3` or `moto` fails the test with a hint: CI
//! installs both (`scripts/test`), so there is no silent skip.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Region the test buckets are signed for.
pub const REGION: &str = "us-east-1";
/// Access key id moto accepts (it accepts any).
pub const ACCESS_KEY: &str = "testing";
/// Secret access key moto accepts (it accepts any).
pub const SECRET_KEY: &str = "testing";

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}

impl Moto {
    /// Starts `python3 -m moto.server -H 127.0.0.1 -p <free port>` and waits until it answers.
    pub async fn start() -> Moto {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start python3 for the moto S3 server ({e}): install Python 3 and `pip install 'moto[server]'` (scripts/test does)")
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_ready().await;
        moto
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        // Bounded wait for the Python process to import moto and listen (not a timing assertion).
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!(
                    "the moto S3 server exited at start ({status}): {}\ninstall it with `pip install 'moto[server]'` (scripts/test does)",
                    stderr.trim()
                );
            }
            if let Ok(resp) = http.get(format!("{}/", self.endpoint)).send().await {
                if resp.status().is_success() {
                    // Keep stderr from filling its pipe: moto logs every request there.
                    if let Some(pipe) = self.child.stderr.take() {
                        std::thread::spawn(move || {
                            let mut sink = std::io::sink();
                            let mut pipe = pipe;
                            let _ = std::io::copy(&mut pipe, &mut sink);
                        });
                    }
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the moto S3 server at {} did not answer within a minute",
            self.endpoint
        );
    }

    /// Creates a bucket (moto takes unsigned requests).
    pub async fn create_bucket(&self, bucket: &str) {
        let resp = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot reach moto: {e}"));
        assert!(
            resp.status().is_success(),
            "create bucket {bucket}: {}",
            resp.status()
        );
    }

    /// The keys of every object in `bucket` (unsigned `ListObjectsV2`).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let text = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot reach moto: {e}"))
            .text()
            .await
            .unwrap_or_default();
        text.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// A `[bulk]` section for `bucket` on this server (URLs valid 15 minutes, 16 MiB at most).
    pub fn bulk_config(&self, bucket: &str) -> wfm_config::BulkConfig {
        let cfg = wfm_config::BulkConfig {
            endpoint: Some(self.endpoint.clone()),
            bucket: bucket.to_string(),
            region: REGION.to_string(),
            access_key_id: Some(ACCESS_KEY.to_string()),
            secret_access_key: Some(wfm_config::Secret::new(SECRET_KEY)),
            allow_http: true,
            url_ttl: Duration::from_secs(15 * 60),
            prefix: "wfm-bulk/".to_string(),
            max_object_bytes: 16 * 1024 * 1024,
        };
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        cfg
    }
}
