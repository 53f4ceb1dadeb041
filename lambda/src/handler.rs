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
use http::{HeaderValue, Request, Response, header};
use http_body_util::{StreamBody, combinators::BoxBody};
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;

use crate::auth::{Clock, SystemClock, Verifier, VerifierConfig};
use crate::config::{Config, GeminiKeySource};
use crate::errors::ApiError;
use crate::gemini::GeminiClient;
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

/// Handles one request.
pub async fn handle(app: Arc<App>, request: Request<Bytes>) -> Response<ResponseBody> {
    match answer(&app, request).await {
        Ok(stream) => stream,
        Err(refusal) => refusal.response(),
    }
}

/// The checks in order, then the stream.
async fn answer(app: &App, request: Request<Bytes>) -> Result<Response<ResponseBody>, ApiError> {
    if request.uri().path() != PATH {
        return Err(ApiError::NotFound {
            path: request.uri().path().to_owned(),
        });
    }
    if request.method() != http::Method::POST {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
        });
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(request.body().len()).into());
    }
    let header_value = request
        .headers()
        .get(app.config.auth_header.as_str())
        .and_then(|v| v.to_str().ok());
    let claims = match Verifier::bearer(header_value, &app.config.auth_header) {
        Ok(token) => app.verifier.verify(&token).await,
        Err(failure) => Err(failure),
    }
    .map_err(|failure| {
        tracing::info!(reason = %failure, "refused: token");
        ApiError::from(&failure)
    })?;
    let chat = ChatRequest::parse(request.body())?;
    tracing::info!(sub = %claims.sub, messages = chat.messages.len(), "answering");
    let (first, upstream) = app.gemini.start(&chat).await.map_err(|failure| {
        tracing::warn!(reason = %failure, "Gemini did not start");
        ApiError::from(&failure)
    })?;
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
    Ok(response)
}
