//! `GET /{poolId}/.well-known/jwks.json` and `/{poolId}/.well-known/openid-configuration`, shaped like
//! the captures in `reference/cognito.md` §1.7–§1.8.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::server::AppState;

/// The pool's JWKS: the ID-token key and the access-token key.
pub(crate) async fn jwks(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
) -> Response {
    let directory = state.directory();
    match directory.pool(&pool_id) {
        Some(pool) => Json(pool.jwks()).into_response(),
        None => unknown_pool(&pool_id),
    }
}

/// OpenID discovery for a pool without a hosted-UI domain (the observed short form: the issuer is
/// also the authorization endpoint).
pub(crate) async fn openid_configuration(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
) -> Response {
    let directory = state.directory();
    let Some(pool) = directory.pool(&pool_id) else {
        return unknown_pool(&pool_id);
    };
    let issuer = &pool.issuer;
    Json(json!({
        "authorization_endpoint": issuer,
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code", "id_token", "token id_token", "none"],
        "subject_types_supported": ["public"],
    }))
    .into_response()
}

/// UNSURE: what AWS answers for a pool that does not exist is not captured in our sources; a 404 with
/// a JSON message is what a verifier's fetcher treats as "not available", which is the behaviour that
/// matters.
fn unknown_pool(pool_id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "message": format!("User pool {pool_id} does not exist.") })),
    )
        .into_response()
}
