//! The server half of Cognito's SRP-6a (`USER_SRP_AUTH` → `PASSWORD_VERIFIER`), as Amplify and
//! `amazon-cognito-identity-js` speak it (`reference/cognito.md` §3.5):
//!
//! - group: RFC 5054's 3072-bit prime, `g = 2`, `k = H(PAD(N) ‖ PAD(g))`;
//! - `x = H(PAD(salt) ‖ H(poolName ‖ userId ‖ ":" ‖ password))`, `v = g^x`;
//! - `B = k·v + g^b`, `u = H(PAD(A) ‖ PAD(B))`, `S = (A·v^u)^b`;
//! - key = HKDF-SHA256(ikm = PAD(S), salt = PAD(u), info = "Caldera Derived Key")[..16];
//! - claim = HMAC-SHA256(key, poolName ‖ userId ‖ SECRET_BLOCK bytes ‖ TIMESTAMP), base64.
//!
//! `PAD` is the signed-magnitude big-endian encoding (a leading zero byte when the high bit is set).
//! The fake stores plain-text test passwords, so it derives `v` per challenge with a fresh salt.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use num_bigint::{BigUint, RandBigInt};
use sha2::{Digest, Sha256};

const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

const INFO: &[u8] = b"Caldera Derived Key";

struct Group {
    n: BigUint,
    g: BigUint,
    k: BigUint,
}

fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        let n = BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("RFC 5054 prime");
        let g = BigUint::from(2u8);
        let k = BigUint::from_bytes_be(&hash(&[&pad(&n), &pad(&g)]));
        Group { n, g, k }
    })
}

/// Why an SRP exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrpError {
    /// `SRP_A` is not hex, or is 0 mod N.
    #[error("SRP_A is not a valid SRP public value")]
    InvalidA,
    /// The derived scrambling parameter was 0 (astronomically unlikely; refuse rather than leak).
    #[error("SRP exchange produced u = 0")]
    ZeroU,
}

/// Signed-magnitude big-endian bytes, as Amplify's `padHex`.
pub fn pad(n: &BigUint) -> Vec<u8> {
    let bytes = n.to_bytes_be();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(bytes.len() + 1);
        padded.push(0);
        padded.extend_from_slice(&bytes);
        padded
    } else {
        bytes
    }
}

fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key size");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The private exponent `x` from salt and credentials.
fn private_x(salt: &BigUint, pool_name: &str, user_id: &str, password: &str) -> BigUint {
    let inner = hash(&[format!("{pool_name}{user_id}:{password}").as_bytes()]);
    BigUint::from_bytes_be(&hash(&[&pad(salt), &inner]))
}

fn scrambler(a: &BigUint, b: &BigUint) -> BigUint {
    BigUint::from_bytes_be(&hash(&[&pad(a), &pad(b)]))
}

fn derive_key(s: &BigUint, u: &BigUint) -> Vec<u8> {
    let prk = hmac(&pad(u), &[&pad(s)]);
    let mut okm = hmac(&prk, &[INFO, &[1]]);
    okm.truncate(16);
    okm
}

/// The `PASSWORD_CLAIM_SIGNATURE` both sides compute.
pub fn claim_signature(
    key: &[u8],
    pool_name: &str,
    user_id: &str,
    secret_block: &[u8],
    timestamp: &str,
) -> String {
    STANDARD.encode(hmac(
        key,
        &[
            pool_name.as_bytes(),
            user_id.as_bytes(),
            secret_block,
            timestamp.as_bytes(),
        ],
    ))
}

/// Checks a client's base64 `PASSWORD_CLAIM_SIGNATURE` in constant time.
pub fn verify_claim(
    key: &[u8],
    pool_name: &str,
    user_id: &str,
    secret_block: &[u8],
    timestamp: &str,
    signature_b64: &str,
) -> bool {
    let Ok(signature) = STANDARD.decode(signature_b64) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key size");
    for part in [
        pool_name.as_bytes(),
        user_id.as_bytes(),
        secret_block,
        timestamp.as_bytes(),
    ] {
        mac.update(part);
    }
    mac.verify_slice(&signature).is_ok()
}

/// What the server keeps between the challenge and the response.
#[derive(Debug, Clone)]
pub struct ServerExchange {
    /// `SALT` as sent (hex).
    pub salt_hex: String,
    /// `SRP_B` as sent (hex).
    pub b_hex: String,
    /// The shared 16-byte key.
    pub key: Vec<u8>,
}

/// Starts the server side for a client's `SRP_A` (hex) and the user's password.
pub fn server_exchange(
    a_hex: &str,
    pool_name: &str,
    user_id: &str,
    password: &str,
) -> Result<ServerExchange, SrpError> {
    let Group { n, g, k } = group();
    let a = BigUint::parse_bytes(a_hex.as_bytes(), 16).ok_or(SrpError::InvalidA)?;
    if (&a % n) == BigUint::ZERO {
        return Err(SrpError::InvalidA);
    }
    let mut rng = rand::thread_rng();
    let salt = rng.gen_biguint(128);
    let x = private_x(&salt, pool_name, user_id, password);
    let v = g.modpow(&x, n);
    let b = rng.gen_biguint(256);
    let big_b = (k * &v + g.modpow(&b, n)) % n;
    let u = scrambler(&a, &big_b);
    if u == BigUint::ZERO {
        return Err(SrpError::ZeroU);
    }
    let s = (a * v.modpow(&u, n)).modpow(&b, n);
    Ok(ServerExchange {
        salt_hex: salt.to_str_radix(16),
        b_hex: big_b.to_str_radix(16),
        key: derive_key(&s, &u),
    })
}

/// Cognito's `TIMESTAMP` format (`Sun Nov 9 04:19:23 UTC 2026`, the day not zero-padded), as
/// amazon-cognito-identity-js writes it.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] UTC [year]"
);

/// Cognito's `TIMESTAMP` for an instant.
pub fn timestamp(epoch_seconds: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(TIMESTAMP)
        .unwrap_or_default()
}

/// Parses a `TIMESTAMP` back to epoch seconds (`None` when it is not in Cognito's format).
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let parsed = time::PrimitiveDateTime::parse(text, TIMESTAMP).ok()?;
    u64::try_from(parsed.assume_utc().unix_timestamp()).ok()
}

/// The client side, for tests and for the reference client: `(a, A hex)`, then the claim.
pub mod client {
    use super::*;

    /// A client's ephemeral secret and its public `A` (hex).
    pub fn start() -> (BigUint, String) {
        let Group { n, g, .. } = group();
        let a = rand::thread_rng().gen_biguint(256);
        let big_a = g.modpow(&a, n);
        let a_hex = big_a.to_str_radix(16);
        (a, a_hex)
    }

    /// The shared key from the server's challenge.
    pub fn key(
        a: &BigUint,
        salt_hex: &str,
        b_hex: &str,
        pool_name: &str,
        user_id: &str,
        password: &str,
    ) -> Option<Vec<u8>> {
        let Group { n, g, k } = group();
        let big_a = g.modpow(a, n);
        let salt = BigUint::parse_bytes(salt_hex.as_bytes(), 16)?;
        let big_b = BigUint::parse_bytes(b_hex.as_bytes(), 16)?;
        if (&big_b % n) == BigUint::ZERO {
            return None;
        }
        let u = scrambler(&big_a, &big_b);
        let x = private_x(&salt, pool_name, user_id, password);
        let kgx = (k * g.modpow(&x, n)) % n;
        let base = (&big_b + n - kgx) % n;
        let s = base.modpow(&(a + &u * &x), n);
        Some(derive_key(&s, &u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_adds_a_zero_byte_only_when_the_high_bit_is_set() {
        assert_eq!(pad(&BigUint::from(0x14u8)), [0x14]);
        assert_eq!(pad(&BigUint::from(0xecu8)), [0x00, 0xec]);
        assert_eq!(pad(&group().n).len(), 385);
    }

    #[test]
    fn client_and_server_agree_and_a_wrong_password_does_not() {
        let (a, a_hex) = client::start();
        let server = server_exchange(&a_hex, "LocalPool1", "demo", "Demo-passw0rd!").unwrap();
        let right = client::key(
            &a,
            &server.salt_hex,
            &server.b_hex,
            "LocalPool1",
            "demo",
            "Demo-passw0rd!",
        )
        .unwrap();
        assert_eq!(right, server.key);
        let wrong = client::key(
            &a,
            &server.salt_hex,
            &server.b_hex,
            "LocalPool1",
            "demo",
            "demo-passw0rd!",
        )
        .unwrap();
        assert_ne!(wrong, server.key);
    }

    #[test]
    fn a_equal_to_zero_mod_n_is_refused() {
        assert_eq!(
            server_exchange("0", "p", "u", "pw").unwrap_err(),
            SrpError::InvalidA
        );
        assert_eq!(
            server_exchange(N_HEX, "p", "u", "pw").unwrap_err(),
            SrpError::InvalidA
        );
        assert_eq!(
            server_exchange("zz", "p", "u", "pw").unwrap_err(),
            SrpError::InvalidA
        );
    }

    #[test]
    fn timestamps_round_trip_in_cognitos_format() {
        // 2026-11-09T04:05:06Z was a Monday.
        let t = 1_794_197_106;
        assert_eq!(timestamp(t), "Mon Nov 9 04:05:06 UTC 2026");
        assert_eq!(parse_timestamp(&timestamp(t)), Some(t));
        assert_eq!(parse_timestamp("2026-11-09T04:05:06Z"), None);
    }
}
