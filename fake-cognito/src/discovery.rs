//! `GET /{poolId}/.well-known/jwks.json` and `/{poolId}/.well-known/openid-configuration`, shaped like
//! the captures in `reference/cognito.md` §1.7–§1.8.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::hooks::JwksFault;
use crate::server::AppState;

/// The pool's JWKS: the ID-token key and the access-token key (plus rotated-out keys in their grace
/// period). Every request is counted, and an injected [`JwksFault`] applies before the keys are read.
pub(crate) async fn jwks(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
) -> Response {
    {
        let mut directory = state.directory();
        let Ok(pool) = directory.pool_mut(&pool_id) else {
            return unknown_pool(&pool_id);
        };
        pool.jwks_fetches += 1;
    }
    let mut fault = state.jwks_fault.subscribe();
    loop {
        let current = *fault.borrow_and_update();
        match current {
            JwksFault::Healthy => break,
            JwksFault::Status { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return (status, Json(json!({ "message": "injected JWKS fault" }))).into_response();
            }
            JwksFault::Stall => {
                if fault.changed().await.is_err() {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
    }
    let now = state.clock.now_epoch_seconds();
    match state.directory().pool(&pool_id) {
        Some(pool) => Json(pool.jwks(now)).into_response(),
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
