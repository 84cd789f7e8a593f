//! `[bulk]` of `hub.toml`: the S3-compatible object storage the hub hands pre-signed upload URLs
//! for (large transfers such as backfills). Absent = the bulk routes answer 404
//! `bulk_not_configured` and importers send every batch directly.

use crate::{issue, ConfigIssue, Secret};
use serde::Deserialize;
use std::time::Duration;

/// Object storage for bulk uploads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkConfig {
    /// S3 endpoint URL, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO/Ceph/moto URL.
    /// Unset = AWS S3 of `region`. Importers must be able to reach it (the pre-signed URLs point
    /// there). Path-style requests (`<endpoint>/<bucket>/<key>`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Bucket the uploads go to (it must exist; the hub never creates buckets).
    pub bucket: String,
    /// Region the requests are signed for. Default `us-east-1`.
    #[serde(default = "default_region")]
    pub region: String,
    /// Access key id of the hub's object-storage credentials. Unset (together with
    /// `secret_access_key`) = the standard `AWS_*` environment variables or the instance role.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key (or `secret_access_key_file`, or `${ENV}`). Never logged.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Allow a plain `http://` endpoint. For labs and tests only; logged loudly.
    #[serde(default)]
    pub allow_http: bool,
    /// How long a pre-signed upload URL, and the upload it belongs to, stay valid. Default
    /// `15m`; 1 minute to 7 days (the SigV4 maximum).
    #[serde(default = "default_url_ttl", with = "humantime_serde")]
    pub url_ttl: Duration,
    /// Key prefix of the uploaded objects (`<prefix><project>/<upload id>`). Default
    /// `wfm-bulk/`. A lifecycle rule on it that expires objects after a day removes uploads that
    /// were never ingested.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Largest plaintext batch accepted through the bulk path, in bytes. Default 1 GiB. The hub
    /// reads the whole object into memory to decrypt and apply it.
    #[serde(default = "default_max_object_bytes")]
    pub max_object_bytes: u64,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

fn default_url_ttl() -> Duration {
    Duration::from_secs(15 * 60)
}

fn default_prefix() -> String {
    "wfm-bulk/".to_string()
}

fn default_max_object_bytes() -> u64 {
    1 << 30
}

/// Shortest accepted `url_ttl`.
const MIN_URL_TTL: Duration = Duration::from_secs(60);
/// Longest accepted `url_ttl` (what SigV4 pre-signed URLs allow).
const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl BulkConfig {
    /// Checks everything that can be checked without I/O; problems are named `bulk.<field>`.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if let Some(endpoint) = &self.endpoint {
            if endpoint.starts_with("http://") {
                if !self.allow_http {
                    issues.push(issue(
                        "bulk.endpoint",
                        format!("{endpoint} is plain http; use https or set bulk.allow_http = true for a lab"),
                    ));
                }
            } else if !endpoint.starts_with("https://") {
                issues.push(issue(
                    "bulk.endpoint",
                    format!("'{endpoint}' is not an http(s) URL"),
                ));
            }
        }
        if self.bucket.trim().is_empty() {
            issues.push(issue(
                "bulk.bucket",
                "is empty: name the bucket uploads go to",
            ));
        }
        if self.region.trim().is_empty() {
            issues.push(issue("bulk.region", "is empty (e.g. us-east-1)"));
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) => issues.push(issue(
                "bulk.secret_access_key",
                "access_key_id is set but secret_access_key is not (set it, secret_access_key_file or ${ENV})",
            )),
            (None, Some(_)) => issues.push(issue(
                "bulk.access_key_id",
                "secret_access_key is set but access_key_id is not",
            )),
            (Some(id), Some(secret)) => {
                if id.trim().is_empty() {
                    issues.push(issue("bulk.access_key_id", "is empty"));
                }
                if secret.expose().is_empty() {
                    issues.push(issue("bulk.secret_access_key", "is empty"));
                }
            }
            (None, None) => {}
        }
        if self.url_ttl < MIN_URL_TTL || self.url_ttl > MAX_URL_TTL {
            issues.push(issue(
                "bulk.url_ttl",
                "must be between 1m and 7d (pre-signed URLs live at most 7 days)",
            ));
        }
        if self.prefix.starts_with('/') || self.prefix.contains("..") {
            issues.push(issue(
                "bulk.prefix",
                "must not start with '/' or contain '..' (e.g. wfm-bulk/)",
            ));
        }
        if self.max_object_bytes < 1024 {
            issues.push(issue("bulk.max_object_bytes", "must be at least 1024"));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> BulkConfig {
        match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults_are_documented_values() {
        let c = parse("bucket = \"b\"");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.url_ttl, Duration::from_secs(900));
        assert_eq!(c.prefix, "wfm-bulk/");
        assert_eq!(c.max_object_bytes, 1 << 30);
        assert!(c.validate().is_empty());
    }

    #[test]
    fn the_secret_can_come_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("s3-secret");
        std::fs::write(&file, "from-file\n").unwrap_or_else(|e| panic!("{e}"));
        let hub = |bulk: &str| {
            format!(
                "[server]\nallow_insecure_http = true\n[[projects]]\nid = \"p\"\ntoken = \"{}\"\n[bulk]\nbucket = \"b\"\naccess_key_id = \"k\"\n{bulk}",
                "t".repeat(32)
            )
        };
        let text = hub(&format!(
            "secret_access_key_file = \"{}\"\n",
            file.display()
        ));
        let cfg = crate::parse_hub(&text, "hub.toml", &|_| None).unwrap_or_else(|e| panic!("{e}"));
        let secret = cfg.bulk.and_then(|b| b.secret_access_key);
        assert_eq!(secret.as_ref().map(|s| s.expose()), Some("from-file"));
        let text = hub("secret_access_key = \"${S3_SECRET}\"\n");
        let env = |k: &str| (k == "S3_SECRET").then(|| "from-env".to_string());
        let cfg = crate::parse_hub(&text, "hub.toml", &env).unwrap_or_else(|e| panic!("{e}"));
        let secret = cfg.bulk.and_then(|b| b.secret_access_key);
        assert_eq!(secret.as_ref().map(|s| s.expose()), Some("from-env"));
        assert!(!format!("{secret:?}").contains("from-env"));
        let text = hub("secret_acess_key = \"typo\"\n");
        assert!(crate::parse_hub(&text, "hub.toml", &|_| None).is_err());
    }

    #[test]
    fn plain_http_needs_allow_http_and_keys_come_in_pairs() {
        let c = parse(
            "endpoint = \"http://127.0.0.1:9000\"\nbucket = \"b\"\naccess_key_id = \"k\"\nurl_ttl = \"10s\"",
        );
        let paths: Vec<String> = c.validate().iter().map(|i| i.path.clone()).collect();
        assert!(paths.contains(&"bulk.endpoint".to_string()), "{paths:?}");
        assert!(
            paths.contains(&"bulk.secret_access_key".to_string()),
            "{paths:?}"
        );
        assert!(paths.contains(&"bulk.url_ttl".to_string()), "{paths:?}");
        let ok = parse(
            "endpoint = \"http://127.0.0.1:9000\"\nbucket = \"b\"\nallow_http = true\naccess_key_id = \"k\"\nsecret_access_key = \"s\"",
        );
        assert!(ok.validate().is_empty());
    }
}
