//! TLS certificate reload without dropping the listener: after the files are replaced, the next
//! connection gets the new certificate (on a file change and on SIGHUP), a broken replacement
//! keeps the old one, and TLS 1.2 and 1.3 both still work while nothing older is offered.

use std::path::Path;
use std::sync::Arc;
use wfm_hub::self_signed_cert;

const TOKEN: &str = "tls-token-0123456789abcdef0123456789abcdef";

fn write_pair(dir: &Path, host: &str) -> String {
    let (cert, key) = self_signed_cert(&[host.into(), "127.0.0.1".into()]);
    std::fs::write(dir.join("cert.pem"), &cert).unwrap();
    std::fs::write(dir.join("key.pem"), &key).unwrap();
    cert
}

fn config(dir: &Path) -> wfm_config::HubConfig {
    let path = dir.join("hub.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\n\
         [storage]\nurl = \"sqlite://{}\"\n\n[[projects]]\nid = \"alpha\"\ntoken = \"{TOKEN}\"\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display(),
        dir.join("hub.sqlite").display()
    );
    std::fs::write(&path, text).unwrap();
    wfm_config::load_hub(&path).unwrap()
}

/// A fresh client (new connection) that trusts only `cert`.
fn client_trusting(cert: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn served_by(url: &str, cert: &str) -> bool {
    client_trusting(cert).get(url).send().await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_certificate_is_served_after_reload_without_restarting() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_pair(dir.path(), "first.test");
    let hub = wfm_hub::start(config(dir.path())).await.unwrap();
    let url = format!("{}/healthz", hub.base_url());
    let reloader = hub.tls_reloader.clone().unwrap();
    assert!(served_by(&url, &first).await);

    // A keep-alive connection opened before the reload keeps working after it.
    let kept = client_trusting(&first);
    assert_eq!(kept.get(&url).send().await.unwrap().status(), 200);

    // File change.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = write_pair(dir.path(), "second.test");
    // (The hub's own watcher may get there first: either way the change is picked up.)
    reloader.reload_if_changed().unwrap();
    assert!(
        !reloader.reload_if_changed().unwrap(),
        "nothing changed since"
    );
    assert!(
        served_by(&url, &second).await,
        "the new certificate is served"
    );
    assert!(!served_by(&url, &first).await, "the old one is not");
    assert_eq!(kept.get(&url).send().await.unwrap().status(), 200);

    // A broken replacement keeps the certificate in use.
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    let err = reloader.reload().unwrap_err().to_string();
    assert!(err.contains("key.pem"), "{err}");
    assert!(served_by(&url, &second).await);

    // SIGHUP reloads too.
    let third = write_pair(dir.path(), "third.test");
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let mut reloaded = false;
    for _ in 0..100 {
        if served_by(&url, &third).await {
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reloaded, "SIGHUP did not reload the certificate");

    // TLS 1.2 and 1.3 both still work after reloads.
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut third.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .unwrap();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    hub.shutdown().await.unwrap();
}
