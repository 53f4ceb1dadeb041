//! `--tls`: a CA generated at start (its PEM written where the caller says, for `SSL_CERT_FILE`) and a
//! server certificate for `localhost` and `127.0.0.1` signed by it.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The CA file could not be written.
    #[error("writing the CA certificate to {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A server TLS configuration and the CA that signs it.
#[derive(Debug, Clone)]
pub struct LocalTls {
    /// The rustls server configuration.
    pub server_config: Arc<ServerConfig>,
    /// The CA certificate (PEM) a client must trust.
    pub ca_pem: String,
}

/// Generates a CA and a `localhost`/`127.0.0.1` certificate, and writes the CA PEM to `ca_path`.
pub fn generate(ca_path: &Path) -> Result<LocalTls, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-gemini local CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "fake-gemini");
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    let ca_pem = ca_cert.pem();
    std::fs::write(ca_path, &ca_pem).map_err(|source| TlsError::Write {
        path: ca_path.display().to_string(),
        source,
    })?;
    let chain = vec![
        CertificateDer::from(leaf_cert.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server_config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    Ok(LocalTls {
        server_config: Arc::new(server_config),
        ca_pem,
    })
}
