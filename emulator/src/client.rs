//! The reference client: what the browser must do, as a library. Sign in through the Cognito API, hash
//! the body (`x-amz-content-sha256`), send the token in `x-chatbot-authorization`, POST, and read the
//! SSE answer as typed events with their arrival times. Each step can be done wrong on purpose, for the
//! scenarios and the e2e suite. Used by `emulator chat`, `emulator check` and the e2e suite.

use std::time::Instant;

use bytes::Bytes;
use chatbot_query::sse::Event;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::trace::{TRACE_HEADER, Trace};

/// Why the client failed (not a refusal: those are [`Answer::Refused`]).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure.
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    /// Sign-in refused.
    #[error("sign-in failed: {0}")]
    SignIn(String),
    /// The stream was not the function's SSE.
    #[error("unreadable event stream: {0}")]
    Stream(String),
}

/// Where the token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `x-chatbot-authorization: Bearer …` (right).
    ChatbotHeader,
    /// `Authorization: Bearer …` (the original plan: OAC replaces it).
    Authorization,
    /// No token.
    Omit,
}

/// What to send as `x-amz-content-sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyHash {
    /// The SHA-256 of the body (right).
    Correct,
    /// Nothing.
    Omit,
    /// A hash of something else.
    Wrong,
}

/// How to send a request.
#[derive(Debug, Clone)]
pub struct Options {
    /// Token placement.
    pub token: TokenPlacement,
    /// Body hash.
    pub hash: BodyHash,
    /// HTTP method (`POST`).
    pub method: reqwest::Method,
    /// Path (`/chatbot`).
    pub path: String,
    /// `Origin`, as a browser page on that origin sends it.
    pub origin: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token: TokenPlacement::ChatbotHeader,
            hash: BodyHash::Correct,
            method: reqwest::Method::POST,
            path: "/chatbot".into(),
            origin: None,
        }
    }
}

/// What the chain answered.
#[derive(Debug)]
pub enum Answer {
    /// A refusal (any non-2xx status), read whole.
    Refused {
        /// Status.
        status: u16,
        /// Headers.
        headers: reqwest::header::HeaderMap,
        /// Body.
        body: String,
        /// `x-emulator-trace-id`, when the emulator answered.
        trace_id: Option<String>,
    },
    /// The SSE answer, to be read.
    Stream(EventStream),
}

/// One thing received on the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// An event.
    Event(Event),
    /// A `: keep-alive` comment.
    KeepAlive,
}

/// The SSE answer, parsed incrementally as bytes arrive.
pub struct EventStream {
    /// Status (200).
    pub status: u16,
    /// `x-emulator-trace-id`.
    pub trace_id: Option<String>,
    /// The response's headers.
    pub headers: reqwest::header::HeaderMap,
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
    parser: SseParser,
    pending: std::collections::VecDeque<Received>,
}

/// The function's SSE, parsed incrementally from bytes in any split: events and keep-alives.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes; every event and keep-alive they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Received>, ClientError> {
        let mut out = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                self.buffer.push(byte);
                continue;
            }
            let line = String::from_utf8(std::mem::take(&mut self.buffer))
                .map_err(|e| ClientError::Stream(e.to_string()))?;
            let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
            if line.is_empty() {
                if let Some(name) = self.event.take() {
                    let data = std::mem::take(&mut self.data).join("\n");
                    let event = Event::from_parts(&name, &data)
                        .map_err(|e| ClientError::Stream(format!("{name}: {e}")))?;
                    out.push(Received::Event(event));
                }
            } else if line == ": keep-alive" {
                out.push(Received::KeepAlive);
            } else if let Some(name) = line.strip_prefix("event: ") {
                self.event = Some(name.to_owned());
            } else if let Some(data) = line.strip_prefix("data: ") {
                self.data.push(data.to_owned());
            }
        }
        Ok(out)
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("status", &self.status)
            .field("trace_id", &self.trace_id)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// The next event (or keep-alive) and when it arrived; `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Result<(Received, Instant), ClientError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok((item, Instant::now())));
            }
            match self.body.next().await? {
                Ok(bytes) => {
                    if let Err(e) = self.feed(&bytes) {
                        return Some(Err(e));
                    }
                }
                Err(e) => return Some(Err(ClientError::Http(e))),
            }
        }
    }

    /// Reads the rest: every event, in order.
    pub async fn collect(mut self) -> Result<Vec<Received>, ClientError> {
        let mut all = Vec::new();
        while let Some(item) = self.next().await {
            all.push(item?.0);
        }
        Ok(all)
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.pending.extend(self.parser.feed(bytes)?);
        Ok(())
    }
}

/// Tokens from a sign-in.
#[derive(Clone)]
pub struct Tokens {
    /// The access token (what the function accepts).
    pub access_token: String,
    /// The ID token.
    pub id_token: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

/// The client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The edge (`http://127.0.0.1:9000`).
    pub edge_url: String,
    /// Cognito (`http://127.0.0.1:9229`).
    pub cognito_url: String,
    /// The app client id.
    pub client_id: String,
}

/// Hex SHA-256.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// A one-question chat body.
pub fn question(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

impl Client {
    /// A client for an edge and a Cognito endpoint.
    pub fn new(edge_url: &str, cognito_url: &str, client_id: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            edge_url: edge_url.trim_end_matches('/').to_owned(),
            cognito_url: cognito_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// `InitiateAuth(USER_PASSWORD_AUTH)` against Cognito.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Tokens, ClientError> {
        let response = self
            .http
            .post(format!("{}/", self.cognito_url))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.InitiateAuth",
            )
            .body(
                json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id,
                       "AuthParameters": {"USERNAME": username, "PASSWORD": password}})
                .to_string(),
            )
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(ClientError::SignIn(format!(
                "{}: {}",
                body["__type"].as_str().unwrap_or("error"),
                body["message"].as_str().unwrap_or("")
            )));
        }
        let result = &body["AuthenticationResult"];
        match (result["AccessToken"].as_str(), result["IdToken"].as_str()) {
            (Some(access), Some(id)) => Ok(Tokens {
                access_token: access.to_owned(),
                id_token: id.to_owned(),
            }),
            _ => Err(ClientError::SignIn("no tokens in the answer".into())),
        }
    }

    /// Sends `body` with `token` as `options` say.
    pub async fn send(
        &self,
        body: &Value,
        token: &str,
        options: &Options,
    ) -> Result<Answer, ClientError> {
        let bytes = body.to_string().into_bytes();
        let mut request = self
            .http
            .request(
                options.method.clone(),
                format!("{}{}", self.edge_url, options.path),
            )
            .header("content-type", "application/json");
        request = match options.token {
            TokenPlacement::ChatbotHeader => {
                request.header("x-chatbot-authorization", format!("Bearer {token}"))
            }
            TokenPlacement::Authorization => {
                request.header("authorization", format!("Bearer {token}"))
            }
            TokenPlacement::Omit => request,
        };
        request = match options.hash {
            BodyHash::Correct => request.header("x-amz-content-sha256", body_hash(&bytes)),
            BodyHash::Wrong => request.header("x-amz-content-sha256", body_hash(b"something else")),
            BodyHash::Omit => request,
        };
        if let Some(origin) = &options.origin {
            request = request.header("origin", origin);
        }
        if options.method != reqwest::Method::GET && options.method != reqwest::Method::HEAD {
            request = request.body(bytes);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let trace_id = response
            .headers()
            .get(TRACE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !response.status().is_success() {
            let headers = response.headers().clone();
            return Ok(Answer::Refused {
                status,
                headers,
                body: response.text().await?,
                trace_id,
            });
        }
        Ok(Answer::Stream(EventStream {
            status,
            trace_id,
            headers: response.headers().clone(),
            body: response.bytes_stream().boxed(),
            parser: SseParser::new(),
            pending: Default::default(),
        }))
    }

    /// The CORS preflight a browser on `origin` sends before `POST /chatbot` with the client's
    /// headers.
    pub async fn preflight(&self, origin: &str) -> Result<reqwest::Response, ClientError> {
        Ok(self
            .http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/chatbot", self.edge_url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                crate::topology::CLIENT_HEADERS.join(","),
            )
            .send()
            .await?)
    }

    /// The trace of a request, from the edge.
    pub async fn trace(&self, id: &str) -> Result<Trace, ClientError> {
        Ok(self
            .http
            .get(format!("{}/__emulator/traces/{id}", self.edge_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_parser_handles_any_split() {
        let text = b"event: delta\ndata: {\"text\":\"caf\xc3\xa9\"}\n\n: keep-alive\n\nevent: done\ndata: {\"finishReason\":\"STOP\",\"usage\":{}}\n\n";
        let expected = {
            let mut s = stream();
            s.feed(text).unwrap();
            s.pending.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(expected.len(), 3);
        for cut in 0..text.len() {
            let mut s = stream();
            s.feed(&text[..cut]).unwrap();
            s.feed(&text[cut..]).unwrap();
            assert_eq!(
                s.pending.into_iter().collect::<Vec<_>>(),
                expected,
                "cut at {cut}"
            );
        }
    }

    fn stream() -> EventStream {
        EventStream {
            status: 200,
            trace_id: None,
            headers: Default::default(),
            body: futures_util::stream::empty().boxed(),
            parser: SseParser::new(),
            pending: Default::default(),
        }
    }
}
