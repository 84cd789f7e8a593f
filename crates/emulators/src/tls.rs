//! Optional TLS: a self-signed certificate helper (rcgen) and a rustls server config (ring
//! provider, so no process-wide default provider is needed).

use std::io;
use std::sync::Arc;

/// A PEM certificate chain and its PEM private key.
#[derive(Clone, Debug)]
pub struct PemPair {
    /// Certificate (PEM), the trust anchor a client must accept.
    pub cert_pem: String,
    /// Private key (PEM, PKCS#8).
    pub key_pem: String,
}

fn invalid(msg: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// Generates a self-signed certificate for `localhost`, `127.0.0.1` and the extra `hosts`.
pub fn self_signed(hosts: &[&str]) -> io::Result<PemPair> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(hosts.iter().map(|h| h.to_string()));
    let ck = rcgen::generate_simple_self_signed(names).map_err(invalid)?;
    Ok(PemPair {
        cert_pem: ck.cert.pem(),
        key_pem: ck.key_pair.serialize_pem(),
    })
}

/// Builds a rustls server config (TLS 1.2 and 1.3, ring) from a PEM chain and key.
pub fn server_config(cert_pem: &str, key_pem: &str) -> io::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err(invalid("no certificate in PEM"));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())?
        .ok_or_else(|| invalid("no private key in PEM"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(invalid)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(invalid)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
