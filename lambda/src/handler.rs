//! The function as an HTTP handler: `POST /chatbot` in, a JSON error or an SSE stream out. Independent
//! of the Lambda runtime, so tests drive it directly or behind any HTTP server.
//!
//! Order of checks: path (404), method (405 + `Allow`), content type (415), size (413), token (401, or
//! 503 when no signing key can be had), body (400), then Gemini (429/502/503/504 before the first byte,
//! SSE after it).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;

use crate::auth::{AuthError, Clock, SystemClock, Verifier, VerifierConfig};
use crate::config::{Config, GeminiKeySource};
use crate::gemini::{GeminiClient, StartError};
use crate::request::{ChatRequest, MAX_BODY_BYTES, RequestError};
use crate::{relay, sse, ssm};

/// The response body: a whole JSON error, or the SSE stream.
pub type ResponseBody = BoxBody<Bytes, Infallible>;

/// The path the function serves.
pub const PATH: &str = "/chatbot";

/// Why the cold start failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The HTTP client could not be built (e.g. an unreadable `SSL_CERT_FILE`).
    #[error("{0}")]
    Http(String),
    /// The Gemini key could not be read from SSM.
    #[error(transparent)]
    Ssm(#[from] ssm::SsmError),
}

/// Everything a warm function keeps between invocations.
#[derive(Debug)]
pub struct App {
    config: Config,
    verifier: Verifier,
    gemini: GeminiClient,
}

/// The outbound HTTP client: rustls with Mozilla's and the system's roots, plus `SSL_CERT_FILE`.
pub fn http_client(config: &Config) -> Result<reqwest::Client, InitError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(config.gemini_connect_timeout)
        .tls_built_in_root_certs(true);
    if let Some(path) = &config.extra_ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| InitError::Http(format!("SSL_CERT_FILE {path}: {e}")))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| InitError::Http(format!("SSL_CERT_FILE {path}: {e}")))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| InitError::Http(format!("building the HTTP client: {e}")))
}

impl App {
    /// The cold start: the HTTP client, and the Gemini key (from SSM when configured so). The JWKS is
    /// not fetched here; the first request does that.
    pub async fn cold_start(config: Config) -> Result<Self, InitError> {
        Self::cold_start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`App::cold_start`] with an injected clock for token times.
    pub async fn cold_start_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, InitError> {
        let http = http_client(&config)?;
        let api_key = match &config.gemini_key {
            GeminiKeySource::Literal(key) => key.clone(),
            GeminiKeySource::SsmParameter(name) => {
                let aws = config
                    .aws
                    .as_ref()
                    .expect("the configuration requires the AWS environment for an SSM key");
                ssm::get_parameter(&http, aws, name, SystemTime::now()).await?
            }
        };
        let verifier = Verifier::new(
            VerifierConfig {
                issuer: config.issuer.clone(),
                client_id: config.client_id.clone(),
                token_use: config.token_use,
                jwks_url: config.jwks_url.clone(),
                refetch_cooldown: config.jwks_refetch_cooldown,
                leeway: config.jwt_leeway,
            },
            http.clone(),
            clock,
        );
        let gemini = GeminiClient::new(
            http,
            config.gemini_base_url.clone(),
            config.gemini_model.clone(),
            api_key,
            config.gemini_first_byte_timeout,
        );
        Ok(Self {
            config,
            verifier,
            gemini,
        })
    }

    /// The token verifier (tests read its JWKS fetch count).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).boxed()
}

/// `{"error":{"code","message"}}` with `status`.
fn error(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn auth_error(failure: &AuthError) -> Response<ResponseBody> {
    if let AuthError::KeysUnavailable(_) = failure {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "auth_unavailable",
            "the sign-in service's keys cannot be fetched right now; try again shortly",
        );
    }
    let description = failure.to_string();
    let mut response = error(StatusCode::UNAUTHORIZED, "invalid_token", &description);
    let challenge = format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        description.replace('"', "'")
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn start_error(failure: &StartError) -> Response<ResponseBody> {
    let message = failure.to_string();
    match failure {
        StartError::RateLimited { retry_after_s } => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &message);
            if let Some(seconds) = retry_after_s {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            response
        }
        StartError::Unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
            &message,
        ),
        StartError::BadGateway(_) => error(StatusCode::BAD_GATEWAY, "upstream_error", &message),
        StartError::Timeout => error(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", &message),
    }
}

/// Handles one request.
pub async fn handle(app: Arc<App>, request: Request<Bytes>) -> Response<ResponseBody> {
    if request.uri().path() != PATH {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "no route for {}; the chatbot is at {PATH}",
                request.uri().path()
            ),
        );
    }
    if request.method() != http::Method::POST {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{} is not allowed on {PATH}; use POST", request.method()),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        );
    }
    if request.body().len() > MAX_BODY_BYTES {
        let why = RequestError::TooLarge(request.body().len()).to_string();
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &why);
    }
    let header_value = request
        .headers()
        .get(app.config.auth_header.as_str())
        .and_then(|v| v.to_str().ok());
    let claims = match Verifier::bearer(header_value, &app.config.auth_header) {
        Ok(token) => app.verifier.verify(&token).await,
        Err(failure) => Err(failure),
    };
    let claims = match claims {
        Ok(claims) => claims,
        Err(failure) => {
            tracing::info!(reason = %failure, "refused: token");
            return auth_error(&failure);
        }
    };
    let chat = match ChatRequest::parse(request.body()) {
        Ok(chat) => chat,
        Err(RequestError::TooLarge(n)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &RequestError::TooLarge(n).to_string(),
            );
        }
        Err(RequestError::Invalid(why)) => {
            return error(StatusCode::BAD_REQUEST, "invalid_request", &why);
        }
    };
    tracing::info!(sub = %claims.sub, messages = chat.messages.len(), "answering");
    let (first, upstream) = match app.gemini.start(&chat).await {
        Ok(started) => started,
        Err(failure) => {
            tracing::warn!(reason = %failure, "Gemini did not start");
            return start_error(&failure);
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(relay::relay(
        first,
        upstream,
        tx,
        app.config.keepalive_interval,
    ));
    let frames = tokio_stream::wrappers::ReceiverStream::new(rx)
        .map(|bytes| Ok::<_, Infallible>(http_body::Frame::data(bytes)));
    let mut response = Response::new(http_body_util::BodyExt::boxed(StreamBody::new(frames)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(sse::CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
