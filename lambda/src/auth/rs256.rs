//! The signature check behind `jsonwebtoken`: RS256 only, on `ring` — the crypto library the function
//! already links for TLS (rustls), so the fast path costs the release artifact nothing. `ring` verifies
//! an RSA-2048 signature in ~21 µs on this machine kind against ~134 µs for the `rsa` crate behind
//! `jsonwebtoken`'s `rust_crypto` backend (BENCHMARKS.md); `aws_lc_rs` is ~15 µs but would link a
//! second C crypto library into `bootstrap`.
//!
//! `jsonwebtoken` keeps the JWT work (compact form, header, claims, the algorithm allow-list); this
//! module only answers "does this signature verify with this key".

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};

/// Verification only: the function never signs a token.
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: refuse_to_sign,
    verifier_factory: rs256_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] `jsonwebtoken`'s process-wide backend (idempotent). If another provider was
/// installed first it stays: `jsonwebtoken` allows one per process.
pub(super) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if PROVIDER.install_default().is_err() {
            tracing::warn!("another jsonwebtoken crypto provider is installed; using it");
        }
    });
}

fn refuse_to_sign(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::Provider("this provider only verifies".into()).into())
}

fn rs256_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => Ok(Box::new(Rs256 {
            n: n.clone(),
            e: e.clone(),
        })),
        DecodingKeyKind::SecretOrDer(_) => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

/// One RSA public key from the JWKS, as its big-endian modulus and exponent.
struct Rs256 {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl signature::Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        // 2048–8192-bit moduli, as Cognito's keys are 2048-bit; a smaller key never verifies.
        ring::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rs256_with_an_rsa_key_gets_a_verifier_and_nothing_is_signed() {
        let rsa = DecodingKey::from_rsa_raw_components(&[0xc5; 256], &[1, 0, 1]);
        assert!(rs256_verifier(&Algorithm::RS256, &rsa).is_ok());
        for other in [Algorithm::RS384, Algorithm::PS256, Algorithm::HS256] {
            assert!(rs256_verifier(&other, &rsa).is_err(), "{other:?}");
        }
        let secret = DecodingKey::from_secret(b"public key bytes");
        assert!(rs256_verifier(&Algorithm::RS256, &secret).is_err());
        assert!(refuse_to_sign(&Algorithm::RS256, &EncodingKey::from_secret(b"k")).is_err());
    }

    #[test]
    fn a_signature_from_another_key_does_not_verify() {
        let verifier = Rs256 {
            n: vec![0xc5; 256],
            e: vec![1, 0, 1],
        };
        let result = signature::Verifier::verify(&verifier, b"header.claims", &vec![0x17; 256]);
        assert!(result.is_err());
    }
}
