//! The local chat page `up` serves (`--site-addr`, default `127.0.0.1:9080`): `web/index.html`,
//! `web/page.js` and `web/chatbot-client.js` — the module the site imports — compiled into the
//! emulator, `config.json` saying where the chain is, and Amplify v6 bundled by `npm run build` in
//! `web/` when that has been run. The page's origin is allowed through the function URL's CORS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;

use crate::server::{Limits, Served};

const INDEX: &str = include_str!("../../web/index.html");
const PAGE: &str = include_str!("../../web/page.js");
const CLIENT: &str = include_str!("../../web/chatbot-client.js");

/// Where `npm run build` in `web/` puts the Amplify bundle, in this checkout.
pub fn default_amplify_bundle() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../web/dist/amplify.js"
    ))
}

/// What the page needs to know of the chain.
#[derive(Debug, Clone)]
pub struct Config {
    /// The edge's `/chatbot` URL.
    pub chatbot_url: String,
    /// Cognito's endpoint (Amplify's `userPoolEndpoint`).
    pub cognito_url: String,
    /// The pool and app client.
    pub user_pool_id: String,
    /// The app client id.
    pub client_id: String,
    /// The prefilled demo user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The Amplify bundle to serve as `/amplify.js`, when it exists.
    pub amplify_bundle: Option<PathBuf>,
    /// The listener's limits.
    pub limits: Limits,
}

/// A running site listener.
pub type Handle = Served;

/// The origins a page served from `addr` has: `http://addr`, and `http://localhost:port` for a
/// loopback address.
pub fn origins(addr: SocketAddr) -> Vec<String> {
    let mut origins = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", addr.port()));
    }
    origins
}

fn text(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The routes.
pub fn router(config: Config) -> axum::Router {
    let config = Arc::new(config);
    let settings = config.clone();
    let bundle = config.clone();
    axum::Router::new()
        .route(
            "/",
            get(|| async { text("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/index.html",
            get(|| async { text("text/html; charset=utf-8", INDEX) }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/page.js",
            get(|| async { text("text/javascript; charset=utf-8", PAGE) }),
        )
        .route(
            "/chatbot-client.js",
            get(|| async { text("text/javascript; charset=utf-8", CLIENT) }),
        )
        .route(
            "/config.json",
            get(move || {
                let c = settings.clone();
                async move {
                    axum::Json(json!({
                        "edgeUrl": c.chatbot_url, "cognitoUrl": c.cognito_url,
                        "userPoolId": c.user_pool_id, "clientId": c.client_id,
                        "username": c.username, "password": c.password,
                    }))
                }
            }),
        )
        .route(
            "/amplify.js",
            get(move || {
                let path = bundle.amplify_bundle.clone();
                async move {
                    match path.map(std::fs::read) {
                        Some(Ok(bytes)) => {
                            let mut response = bytes.into_response();
                            response.headers_mut().insert(
                                header::CONTENT_TYPE,
                                HeaderValue::from_static("text/javascript; charset=utf-8"),
                            );
                            response
                        }
                        _ => (
                            StatusCode::NOT_FOUND,
                            "// no Amplify bundle: run `npm ci && npm run build` in web/",
                        )
                            .into_response(),
                    }
                }
            }),
        )
}

/// Serves the page on a bound listener (bound first, so its origin can join CORS before the chain
/// starts).
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<Handle> {
    let limits = config.limits;
    crate::server::serve_listener(listener, router(config), limits, |stream| stream).await
}
