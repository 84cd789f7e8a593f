//! The embedded server over a real socket: HTTPS with a self-signed certificate, certificate
//! verification by clients, TLS 1.2 still accepted, plain HTTP only when allowed, clear startup
//! errors, graceful shutdown.

use std::path::Path;
use std::sync::Arc;
use wfm_config::{HubConfig, HubServerConfig, LogConfig, ProjectConfig, Secret, StorageConfig};
use wfm_hub::{self_signed_cert, start};
use wfm_model::ProjectId;

const TOKEN: &str = "tls-token-0123456789abcdef0123456789abcdef";

fn config(dir: &Path, tls: Option<(&Path, &Path)>) -> HubConfig {
    HubConfig {
        server: HubServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            tls_cert: tls.map(|(c, _)| c.to_path_buf()),
            tls_key: tls.map(|(_, k)| k.to_path_buf()),
            allow_insecure_http: tls.is_none(),
            max_body_bytes: 1 << 20,
        },
        storage: StorageConfig {
            url: format!("sqlite://{}", dir.join("hub.sqlite").display()),
            max_connections: 2,
        },
        projects: vec![ProjectConfig {
            id: ProjectId::new("alpha").unwrap(),
            name: Some("Alpha".into()),
            token: Secret::new(TOKEN),
            roles: vec!["agent".into(), "supervisor".into()],
            match_people_by: Default::default(),
        }],
        log: LogConfig::default(),
        bulk: None,
        audit: Default::default(),
        encryption: Default::default(),
        retention: Default::default(),
    }
}

fn write_cert(dir: &Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = self_signed_cert(&["localhost".into(), "127.0.0.1".into()]);
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    (cert, cert_path, key_path)
}

#[tokio::test]
async fn https_with_a_trusted_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, cert_path, key_path) = write_cert(dir.path());
    let hub = start(config(dir.path(), Some((&cert_path, &key_path))))
        .await
        .unwrap();
    assert!(hub.tls);
    let url = format!("https://localhost:{}/healthz", hub.addr.port());

    let trusting = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = trusting.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let me = trusting
        .get(format!(
            "https://localhost:{}/api/v1/whoami",
            hub.addr.port()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // A client that does not trust the certificate refuses the connection.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    let err = untrusting.get(&url).send().await.unwrap_err();
    let chain = format!("{err:?}").to_lowercase();
    assert!(
        chain.contains("certificate") || chain.contains("unknownissuer"),
        "{chain}"
    );

    // A TLS 1.2-only client still connects.
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut cert.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let tls12 = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let old = reqwest::Client::builder()
        .use_preconfigured_tls(tls12)
        .build()
        .unwrap();
    assert_eq!(old.get(&url).send().await.unwrap().status(), 200);

    // Nothing older than TLS 1.2 is offered.
    let versions: Vec<_> = wfm_hub::tls::PROTOCOL_VERSIONS
        .iter()
        .map(|v| v.version)
        .collect();
    assert!(!versions.contains(&rustls::ProtocolVersion::TLSv1_1));
    assert!(!versions.contains(&rustls::ProtocolVersion::TLSv1_0));

    hub.shutdown().await.unwrap();
    assert!(
        trusting.get(&url).send().await.is_err(),
        "stopped after shutdown"
    );
}

#[tokio::test]
async fn plain_http_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(config(dir.path(), None)).await.unwrap();
    assert!(!hub.tls);
    assert!(hub.base_url().starts_with("http://127.0.0.1:"));
    let resp = reqwest::get(format!("{}/healthz", hub.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    hub.shutdown().await.unwrap();

    let mut insecure_off = config(dir.path(), None);
    insecure_off.server.allow_insecure_http = false;
    let err = start(insecure_off).await.unwrap_err().to_string();
    assert!(err.contains("TLS is required"), "{err}");
}

#[tokio::test]
async fn unreadable_or_invalid_tls_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("missing-cert.pem");
    let key = dir.path().join("missing-key.pem");
    let err = format!(
        "{:#}",
        start(config(dir.path(), Some((&cert, &key))))
            .await
            .unwrap_err()
    );
    assert!(err.contains("missing-cert.pem"), "{err}");
    std::fs::write(&cert, "garbage").unwrap();
    std::fs::write(&key, "garbage").unwrap();
    let err = format!(
        "{:#}",
        start(config(dir.path(), Some((&cert, &key))))
            .await
            .unwrap_err()
    );
    assert!(
        err.contains("missing-cert.pem") && err.contains("invalid TLS certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn storage_errors_hide_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), None);
    cfg.storage.url = "postgres://wfm:hunter2secret@127.0.0.1:1/hub".to_string();
    let started = tokio::time::timeout(std::time::Duration::from_secs(60), start(cfg))
        .await
        .unwrap();
    let err = format!("{:#}", started.unwrap_err());
    assert!(!err.contains("hunter2secret"), "{err}");
    assert!(err.contains("postgres://***@127.0.0.1:1/hub"), "{err}");
    assert!(err.contains("is PostgreSQL running"), "{err}");
}
