//! TLS for the hub listener: rustls with the ring provider, TLS 1.2 and 1.3 only, a certificate
//! chain and key from PEM files, reloadable without dropping the listener ([`CertReloader`]:
//! on SIGHUP or when the files change); plus a self-signed certificate generator for labs and
//! tests.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// The protocol versions the hub offers: TLS 1.3 and 1.2, nothing older.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] = &[&TLS13, &TLS12];

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read TLS {what} file {}: {source}", path.display())]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A PEM file has no usable content.
    #[error("invalid TLS {what} in {origin}: {message}")]
    Invalid {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file (or `<memory>`).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate/key pair.
    #[error(
        "TLS certificate {cert_origin} and key {key_origin} do not form a usable pair: {message}"
    )]
    Pair {
        /// Where the certificate came from.
        cert_origin: String,
        /// Where the key came from.
        key_origin: String,
        /// The rustls error.
        message: String,
    },
    /// The self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// Reads the PEM certificate chain and key and builds the server config.
pub fn server_config_from_files(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        what: "certificate",
        path: cert.to_path_buf(),
        source,
    })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        what: "private key",
        path: key.to_path_buf(),
        source,
    })?;
    build(
        &cert_pem,
        &cert.display().to_string(),
        &key_pem,
        &key.display().to_string(),
    )
}

/// Builds the server config from PEM text held in memory.
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    build(cert_pem, "<memory>", key_pem, "<memory>")
}

/// Reads a PEM certificate chain and private key.
fn parse_pair(
    cert_pem: &[u8],
    cert_origin: &str,
    key_pem: &[u8],
    key_origin: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let invalid_cert = |message: String| TlsError::Invalid {
        what: "certificate",
        origin: cert_origin.to_string(),
        message,
    };
    let invalid_key = |message: String| TlsError::Invalid {
        what: "private key",
        origin: key_origin.to_string(),
        message,
    };
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut &cert_pem[..]) {
        match item {
            Ok(cert) => certs.push(cert),
            Err(e) => return Err(invalid_cert(format!("unreadable PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(invalid_cert(
            "no `BEGIN CERTIFICATE` block found (expected a PEM certificate chain)".to_string(),
        ));
    }
    let key = match rustls_pemfile::private_key(&mut &key_pem[..]) {
        Ok(Some(key)) => key,
        Ok(None) => {
            return Err(invalid_key(
                "no private key block found (expected PKCS#8, PKCS#1 or SEC1 PEM)".to_string(),
            ))
        }
        Err(e) => return Err(invalid_key(format!("unreadable PEM: {e}"))),
    };
    Ok((certs, key))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(
    cert_pem: &[u8],
    cert_origin: &str,
    key_pem: &[u8],
    key_origin: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (certs, key) = parse_pair(cert_pem, cert_origin, key_pem, key_origin)?;
    let pair_error = |e: rustls::Error| TlsError::Pair {
        cert_origin: cert_origin.to_string(),
        key_origin: key_origin.to_string(),
        message: e.to_string(),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(pair_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(pair_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The listener's certificate, reloadable from its files while serving: rustls asks it for the
/// certificate at every handshake, so a reload applies to the next connection without dropping
/// the listener or open connections. A reload that fails (unreadable file, key not matching)
/// keeps the certificate in use and reports the error.
pub struct CertReloader {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    stamps: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl std::fmt::Debug for CertReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertReloader")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load_certified(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        what: "certificate",
        path: cert.to_path_buf(),
        source,
    })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        what: "private key",
        path: key.to_path_buf(),
        source,
    })?;
    let cert_origin = cert.display().to_string();
    let key_origin = key.display().to_string();
    let (certs, der) = parse_pair(&cert_pem, &cert_origin, &key_pem, &key_origin)?;
    CertifiedKey::from_der(certs, der, &provider()).map_err(|e| TlsError::Pair {
        cert_origin,
        key_origin,
        message: e.to_string(),
    })
}

impl CertReloader {
    /// Loads the certificate chain and key (errors name the file).
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<CertReloader>, TlsError> {
        let stamps = (modified(cert), modified(key));
        let certified = load_certified(cert, key)?;
        Ok(Arc::new(CertReloader {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(certified)),
            stamps: Mutex::new(stamps),
        }))
    }

    /// Re-reads both files and, when they form a usable pair, serves them from the next
    /// handshake on; on error the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamps = (modified(&self.cert), modified(&self.key));
        let certified = load_certified(&self.cert, &self.key)?;
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(certified),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(certified),
        }
        match self.stamps.lock() {
            Ok(mut s) => *s = stamps,
            Err(poisoned) => *poisoned.into_inner() = stamps,
        }
        Ok(())
    }

    /// Reloads when either file's modification time changed since the last load; answers
    /// whether it reloaded.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = (modified(&self.cert), modified(&self.key));
        let before = match self.stamps.lock() {
            Ok(s) => *s,
            Err(poisoned) => *poisoned.into_inner(),
        };
        if now == before {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    /// A server config (TLS 1.3 and 1.2 only, h2 and http/1.1) that asks this reloader for the
    /// certificate at every handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let pair_error = |e: rustls::Error| TlsError::Pair {
            cert_origin: self.cert.display().to_string(),
            key_origin: self.key.display().to_string(),
            message: e.to_string(),
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(pair_error)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match self.current.read() {
            Ok(current) => Some(current.clone()),
            Err(poisoned) => Some(poisoned.into_inner().clone()),
        }
    }
}

/// Generates a self-signed certificate for `hosts` (DNS names or IP addresses; `localhost` if
/// empty) and returns `(cert_pem, key_pem)`. Host names that are not ASCII are skipped.
pub fn try_self_signed_cert(hosts: &[String]) -> Result<(String, String), TlsError> {
    let mut names: Vec<String> = hosts
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.is_ascii())
        .collect();
    if names.is_empty() {
        names.push("localhost".to_string());
    }
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((certified.cert.pem(), certified.key_pair.serialize_pem()))
}

/// Like [`try_self_signed_cert`], for the demo and tests. Panics only if the operating system's
/// random generator fails (key generation is otherwise infallible for sanitised names).
pub fn self_signed_cert(hosts: &[String]) -> (String, String) {
    match try_self_signed_cert(hosts) {
        Ok(pair) => pair,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_only_tls12_and_tls13() {
        let versions: Vec<_> = PROTOCOL_VERSIONS.iter().map(|v| v.version).collect();
        assert_eq!(
            versions,
            vec![
                rustls::ProtocolVersion::TLSv1_3,
                rustls::ProtocolVersion::TLSv1_2
            ]
        );
        assert!(!versions.contains(&rustls::ProtocolVersion::TLSv1_1));
        assert!(!versions.contains(&rustls::ProtocolVersion::TLSv1_0));
    }

    #[test]
    fn self_signed_pair_builds_a_server_config() {
        let (cert, key) = self_signed_cert(&["localhost".into(), "127.0.0.1".into()]);
        assert!(server_config_from_pem(cert.as_bytes(), key.as_bytes()).is_ok());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let err = server_config_from_files(&cert, &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cert.pem"), "{err}");
        std::fs::write(&cert, "not a pem").unwrap();
        std::fs::write(&key, "not a pem").unwrap();
        let err = server_config_from_files(&cert, &key)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cert.pem") && err.contains("BEGIN CERTIFICATE"),
            "{err}"
        );
        let (c, _) = self_signed_cert(&[]);
        std::fs::write(&cert, c).unwrap();
        let err = server_config_from_files(&cert, &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("key.pem"), "{err}");
        let (_, other_key) = self_signed_cert(&[]);
        std::fs::write(&key, other_key).unwrap();
        let err = server_config_from_files(&cert, &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("do not form a usable pair"), "{err}");
    }
}
