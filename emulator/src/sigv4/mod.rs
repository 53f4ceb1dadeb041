//! AWS Signature Version 4 verification, the one piece no crate provides. Three layers, as s3s does it:
//! [`parse`] (the `Authorization` header or the presigned query into typed parts), [`compute`] (pure
//! canonical request, string to sign, signing key, signature), and [`verify`] (in context: the caller's
//! credentials, the clock, the scope, the payload hash). Tested against AWS's own v4 test suite and
//! against requests signed by the `aws-sigv4` crate and curl.

pub mod compute;
pub mod parse;
pub mod verify;

pub use verify::{Identity, SigV4Error, Verified, VerifyOptions, verify};
