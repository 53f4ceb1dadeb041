//! A pool's RSA signing keys: loading or generating them, their Cognito-style `kid`, and their public JWK.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::KeySource;

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM is not an RSA private key.
    #[error("{what}: not an RSA private key in PKCS#1 or PKCS#8 PEM")]
    NotRsa {
        /// The file or "inline PEM".
        what: String,
    },
    /// Generation or encoding failed.
    #[error("RSA key: {0}")]
    Rsa(String),
}

/// One RSA-2048 key that signs one kind of token.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    private: RsaPrivateKey,
    signer: pkcs1v15::SigningKey<Sha256>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Wraps an RSA private key; the `kid` is the base64 SHA-256 of its public key (SPKI DER), which
    /// looks like Cognito's (`vyVQH7UMjwYboVvyFf+zd4KHZfgc+RtmU/A2vHhgITI=`).
    pub fn from_private_key(private: RsaPrivateKey) -> Result<Self, KeyError> {
        let spki = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        let kid = STANDARD.encode(Sha256::digest(spki.as_bytes()));
        let signer = pkcs1v15::SigningKey::<Sha256>::new(private.clone());
        Ok(Self {
            kid,
            private,
            signer,
        })
    }

    /// Parses a PKCS#1 or PKCS#8 PEM.
    pub fn from_pem(pem: &str, what: &str) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| KeyError::NotRsa {
                what: what.to_owned(),
            })?;
        Self::from_private_key(private)
    }

    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<Self, KeyError> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Self::from_private_key(private)
    }

    /// The key id in the JOSE header and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message` (the JWS `RS256` algorithm).
    pub fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        self.signer.sign(message).to_vec()
    }

    /// The private key as PKCS#8 PEM (for caching, and for tests that need the raw key).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.private
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| KeyError::Rsa(e.to_string()))
    }

    /// The public half as the JWKS entry Cognito publishes: `kid, alg, kty, e, n, use`.
    pub fn public_jwk(&self) -> Value {
        let public = self.private.to_public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "use": "sig",
        })
    }

    /// The public key in SPKI PEM (what an HS256-confusion attack uses as the HMAC secret).
    pub fn public_pem(&self) -> Result<String, KeyError> {
        self.private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Rsa(e.to_string()))
    }
}

/// Loads or generates the key a [`KeySource`] names. Generated keys are cached under `cache_dir` as
/// `{cache_name}.pem` so the next start takes milliseconds.
pub fn load(
    source: &KeySource,
    cache_dir: Option<&Path>,
    cache_name: &str,
) -> Result<SigningKey, KeyError> {
    match source {
        KeySource::Pem(pem) => SigningKey::from_pem(pem, "inline PEM"),
        KeySource::PemFile(path) => {
            let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            SigningKey::from_pem(&pem, &path.display().to_string())
        }
        KeySource::Generate => match cache_dir {
            None => SigningKey::generate(),
            Some(dir) => {
                let path = dir.join(format!("{cache_name}.pem"));
                if let Ok(pem) = std::fs::read_to_string(&path) {
                    return SigningKey::from_pem(&pem, &path.display().to_string());
                }
                let key = SigningKey::generate()?;
                let io = |source| KeyError::Io {
                    path: path.clone(),
                    source,
                };
                std::fs::create_dir_all(dir).map_err(io)?;
                std::fs::write(&path, key.to_pem()?).map_err(io)?;
                Ok(key)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../tests/data/pool1-id.pem");

    #[test]
    fn kid_is_base64_sha256_of_the_public_key_and_stable() {
        let a = SigningKey::from_pem(PEM, "test").unwrap();
        let b = SigningKey::from_pem(&a.to_pem().unwrap(), "roundtrip").unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_eq!(STANDARD.decode(a.kid()).unwrap().len(), 32);
    }

    #[test]
    fn jwk_has_exactly_cognitos_fields() {
        let key = SigningKey::from_pem(PEM, "test").unwrap();
        let jwk = key.public_jwk();
        let fields: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let err = SigningKey::from_pem("not a key", "x.pem").unwrap_err();
        assert!(err.to_string().contains("x.pem"));
    }

    #[test]
    fn generated_keys_are_cached_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(&KeySource::Generate, Some(dir.path()), "p-id").unwrap();
        let second = load(&KeySource::Generate, Some(dir.path()), "p-id").unwrap();
        assert_eq!(first.kid(), second.kid());
    }
}
