//! A local Amazon Cognito user pool that AWS's own clients and verifiers cannot tell from the real one.
//!
//! It mints ID and access tokens with Cognito's claims, headers and AWS-format issuer, publishes the
//! JWKS and OpenID discovery documents, and answers the Identity Provider JSON API (`InitiateAuth`,
//! `SignUp`, …) with Cognito's exact error bodies.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fake_cognito::SpawnError> {
//! let cognito = fake_cognito::FakeCognito::spawn(fake_cognito::Config::default()).await?;
//! println!("aws cognito-idp initiate-auth --endpoint-url {} …", cognito.url());
//! cognito.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: pools, clients, users, key sources, issuer mode; the embedded default and TOML.
//! - [`clock`]: the injected time source.
//! - [`keys`]: RSA keys, their `kid`, their JWK.
//! - [`tokens`]: claim sets and signing.
//! - `directory`: users, refresh tokens and challenge sessions, and Cognito's rules for them.
//! - [`lockout`]: Cognito's temporary lockout after failed password sign-ins.
//! - [`api`]: the JSON API envelope, one function per operation, and the error table.
//! - [`srp`]: Cognito's SRP-6a (`USER_SRP_AUTH`), server and client halves.
//! - [`cors`]: CORS as Cognito's endpoint answers it (browser sign-in from any origin).
//! - `discovery`: JWKS and openid-configuration.
//! - [`hooks`]: test-only hooks (mint any token, rotate keys, JWKS faults, fetch counts), Rust and HTTP.
//! - `server`: the router, [`spawn`] and [`Handle`].

pub mod api;
pub mod clock;
pub mod config;
#[cfg(feature = "testcontainers")]
pub mod container;
pub mod cors;
mod directory;
mod discovery;
pub mod hooks;
pub mod keys;
pub mod lockout;
mod server;
pub mod srp;
pub mod tokens;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{
    ClientConfig, Config, IssuerMode, KeySource, PoolConfig, PreventUserExistenceErrors, UserConfig,
};
pub use directory::secret_hash;
pub use hooks::{JwksFault, MintRequest, Signing, TokenUse};
pub use server::{FakeCognito, Handle, SpawnError, reachable, spawn};
