//! The hub's handle on the bulk path's object storage (S3 or compatible, through
//! `object_store`): pre-signed `PUT` URLs, reading an uploaded object with a size bound, and
//! deleting it. Built from `[bulk]` of `hub.toml`; absent = [`Bulk::disabled`].

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;
use wfm_config::BulkConfig;

/// The bulk path's configuration and object store; `Default` = off.
#[derive(Clone, Default)]
pub struct Bulk(Option<Arc<BulkObjects>>);

impl std::fmt::Debug for Bulk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(b) => f
                .debug_struct("Bulk")
                .field("bucket", &b.bucket)
                .field("prefix", &b.prefix)
                .finish_non_exhaustive(),
            None => f.write_str("Bulk(off)"),
        }
    }
}

/// The configured object storage.
pub struct BulkObjects {
    s3: AmazonS3,
    bucket: String,
    /// Key prefix of the objects.
    pub prefix: String,
    /// Validity of URLs and uploads.
    pub url_ttl: Duration,
    /// Largest plaintext accepted.
    pub max_object_bytes: u64,
}

/// Why the bulk object store could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("bulk: cannot set up object storage for bucket '{bucket}': {detail}")]
pub struct BulkSetupError {
    bucket: String,
    detail: String,
}

/// What went wrong talking to object storage.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// Nothing is stored under the upload's key.
    #[error("no object was uploaded")]
    Missing,
    /// The object is larger than the upload announced.
    #[error("the object has {actual} bytes, the upload announced {expected}")]
    WrongSize {
        /// Bytes the upload must have.
        expected: u64,
        /// Bytes the object has.
        actual: u64,
    },
    /// Object storage failed or could not be reached (retriable).
    #[error("object storage failed: {0}")]
    Storage(String),
}

impl Bulk {
    /// Bulk transfers off: the routes answer 404 `bulk_not_configured`.
    pub fn disabled() -> Bulk {
        Bulk(None)
    }

    /// The bulk path of a hub config: off without `[bulk]`, else [`Bulk::from_config`].
    pub fn from_hub_config(config: &wfm_config::HubConfig) -> Result<Bulk, BulkSetupError> {
        match &config.bulk {
            Some(cfg) => {
                let bulk = Bulk::from_config(cfg)?;
                tracing::info!(bucket = %cfg.bucket, prefix = %cfg.prefix, "bulk transfers on");
                Ok(bulk)
            }
            None => Ok(Bulk::disabled()),
        }
    }

    /// Builds the object store of a `[bulk]` section (no I/O; the bucket is not checked).
    pub fn from_config(cfg: &BulkConfig) -> Result<Bulk, BulkSetupError> {
        let mut builder = if cfg.access_key_id.is_some() {
            AmazonS3Builder::new()
        } else {
            AmazonS3Builder::from_env()
        };
        builder = builder
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(cfg.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(cfg.allow_http)
                    .with_timeout(Duration::from_secs(120))
                    .with_connect_timeout(Duration::from_secs(10)),
            )
            // A few quick retries: the importer retries the whole ingest with back-off anyway.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 2,
                retry_timeout: Duration::from_secs(20),
            });
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.with_endpoint(endpoint);
            if endpoint.starts_with("http://") {
                tracing::warn!(endpoint = %endpoint, "bulk: object storage over plain http: lab use only");
            }
        }
        if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        let s3 = builder.build().map_err(|e| BulkSetupError {
            bucket: cfg.bucket.clone(),
            detail: e.to_string(),
        })?;
        Ok(Bulk(Some(Arc::new(BulkObjects {
            s3,
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.clone(),
            url_ttl: cfg.url_ttl,
            max_object_bytes: cfg.max_object_bytes,
        }))))
    }

    /// The object store, when bulk transfers are configured.
    pub fn objects(&self) -> Option<&BulkObjects> {
        self.0.as_deref()
    }
}

impl BulkObjects {
    /// The object key of an upload: `<prefix><project>/<upload id>`.
    pub fn object_path(&self, project: &str, upload_id: &str) -> String {
        format!("{}{project}/{upload_id}", self.prefix)
    }

    /// A pre-signed `PUT` URL for `path`, valid for `url_ttl`.
    pub async fn presign_put(&self, path: &str) -> Result<String, ObjectError> {
        let url = self
            .s3
            .signed_url(http::Method::PUT, &Path::from(path), self.url_ttl)
            .await
            .map_err(|e| ObjectError::Storage(e.to_string()))?;
        Ok(url.to_string())
    }

    /// Reads the object at `path`, which must have exactly `expected` bytes (checked before
    /// the body is read).
    pub async fn read(&self, path: &str, expected: u64) -> Result<Bytes, ObjectError> {
        let result = match self.s3.get(&Path::from(path)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(ObjectError::Missing),
            Err(e) => return Err(ObjectError::Storage(e.to_string())),
        };
        if result.meta.size != expected {
            return Err(ObjectError::WrongSize {
                expected,
                actual: result.meta.size,
            });
        }
        let bytes = result
            .bytes()
            .await
            .map_err(|e| ObjectError::Storage(e.to_string()))?;
        if bytes.len() as u64 != expected {
            return Err(ObjectError::WrongSize {
                expected,
                actual: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Deletes the object at `path` (missing is fine); failures are logged, not returned: a
    /// leftover object holds only ciphertext, and a lifecycle rule on the prefix removes it.
    pub async fn remove(&self, path: &str) {
        match self.s3.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(bucket = %self.bucket, path, error = %e, "bulk: could not delete an object; a lifecycle rule on the prefix removes leftovers")
            }
        }
    }
}
