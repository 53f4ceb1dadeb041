//! The canonical scenarios: the happy path and the main refusals, each run through the chain and
//! judged by status, body and the trace's deciding hop. `emulator check` runs them against a chain built
//! from Terraform; the e2e suite runs them too.

use serde::Serialize;

use crate::client::{Answer, BodyHash, Client, Options, Received, TokenPlacement, question};

/// How one scenario went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Its name.
    pub name: &'static str,
    /// Whether the chain behaved as expected.
    pub passed: bool,
    /// The hop that decided (from the trace).
    pub hop: Option<String>,
    /// What happened.
    pub detail: String,
}

fn outcome(name: &'static str, passed: bool, hop: Option<String>, detail: String) -> Outcome {
    Outcome {
        name,
        passed,
        hop,
        detail,
    }
}

async fn refusal_hop(client: &Client, trace_id: &Option<String>) -> Option<String> {
    let id = trace_id.as_ref()?;
    let trace = client.trace(id).await.ok()?;
    trace.refusal().map(|line| line.hop.to_string())
}

/// Runs every scenario with `username`/`password` signing in at the client's Cognito.
pub async fn run_all(client: &Client, username: &str, password: &str) -> Vec<Outcome> {
    let token = match client.sign_in(username, password).await {
        Ok(tokens) => tokens.access_token,
        Err(e) => {
            return vec![outcome("sign-in", false, None, e.to_string())];
        }
    };
    vec![
        happy_path(client, &token).await,
        refused(
            client,
            &token,
            "jwt-in-authorization-header",
            Options {
                token: TokenPlacement::Authorization,
                ..Options::default()
            },
            401,
            "function",
        )
        .await,
        refused(
            client,
            &token,
            "no-token",
            Options {
                token: TokenPlacement::Omit,
                ..Options::default()
            },
            401,
            "function",
        )
        .await,
        refused(
            client,
            &token,
            "missing-body-hash",
            Options {
                hash: BodyHash::Omit,
                ..Options::default()
            },
            403,
            "url_auth",
        )
        .await,
        refused(
            client,
            &token,
            "wrong-body-hash",
            Options {
                hash: BodyHash::Wrong,
                ..Options::default()
            },
            403,
            "url_auth",
        )
        .await,
    ]
}

/// A question streams back as deltas and ends with `done`.
pub async fn happy_path(client: &Client, token: &str) -> Outcome {
    let name = "happy-path";
    match client
        .send(&question("How should I start?"), token, &Options::default())
        .await
    {
        Ok(Answer::Stream(stream)) => match stream.collect().await {
            Ok(events) => {
                let deltas = events
                    .iter()
                    .filter(|e| matches!(e, Received::Event(chatbot_query::sse::Event::Delta(_))))
                    .count();
                let done = events
                    .iter()
                    .any(|e| matches!(e, Received::Event(chatbot_query::sse::Event::Done(_))));
                outcome(
                    name,
                    deltas > 0 && done,
                    None,
                    format!("{deltas} delta events, done: {done}"),
                )
            }
            Err(e) => outcome(name, false, None, e.to_string()),
        },
        Ok(Answer::Refused {
            status,
            body,
            trace_id,
            ..
        }) => {
            let hop = refusal_hop(client, &trace_id).await;
            outcome(name, false, hop, format!("refused with {status}: {body}"))
        }
        Err(e) => outcome(name, false, None, e.to_string()),
    }
}

async fn refused(
    client: &Client,
    token: &str,
    name: &'static str,
    options: Options,
    status: u16,
    hop: &str,
) -> Outcome {
    match client.send(&question("hi"), token, &options).await {
        Ok(Answer::Refused {
            status: got,
            body,
            trace_id,
            ..
        }) => {
            let deciding = refusal_hop(client, &trace_id).await;
            let passed = got == status && deciding.as_deref() == Some(hop);
            outcome(name, passed, deciding, format!("{got}: {body}"))
        }
        Ok(Answer::Stream(_)) => outcome(
            name,
            false,
            None,
            format!("expected {status} at {hop}, but the answer streamed"),
        ),
        Err(e) => outcome(name, false, None, e.to_string()),
    }
}

/// The browser's view, for a page on `origin` (an origin the topology allows): the preflight is
/// answered with that origin, POST and the client's headers, and the streamed answer carries
/// `access-control-allow-origin` exactly once (twice means two layers add it — the function too).
pub async fn cors(client: &Client, token: &str, origin: &str) -> Vec<Outcome> {
    let preflight = match client.preflight(origin).await {
        Err(e) => outcome("cors-preflight", false, None, e.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_ascii_lowercase()
            };
            let allow_headers = header("access-control-allow-headers");
            let passed = (200..300).contains(&status)
                && header("access-control-allow-origin") == origin.to_ascii_lowercase()
                && header("access-control-allow-methods").contains("post")
                && crate::topology::CLIENT_HEADERS
                    .iter()
                    .all(|h| allow_headers.contains(h) || allow_headers == "*");
            outcome(
                "cors-preflight",
                passed,
                Some("cors".into()),
                format!(
                    "{status}; allow-origin {:?}, allow-methods {:?}, allow-headers {allow_headers:?}",
                    header("access-control-allow-origin"),
                    header("access-control-allow-methods")
                ),
            )
        }
    };
    let options = Options {
        origin: Some(origin.to_owned()),
        ..Options::default()
    };
    let single = match client.send(&question("hi"), token, &options).await {
        Err(e) => outcome("cors-one-header", false, None, e.to_string()),
        Ok(answer) => {
            let (status, headers) = match &answer {
                Answer::Stream(stream) => (stream.status, stream.headers.clone()),
                Answer::Refused {
                    status, headers, ..
                } => (*status, headers.clone()),
            };
            let count = headers
                .get_all("access-control-allow-origin")
                .iter()
                .count();
            if let Answer::Stream(stream) = answer {
                let _ = stream.collect().await;
            }
            outcome(
                "cors-one-header",
                count == 1 && status == 200,
                Some("cors".into()),
                format!(
                    "{status}; access-control-allow-origin {count} time(s){}",
                    if count > 1 {
                        " — the function sets CORS headers too: remove them, the function URL adds them"
                    } else {
                        ""
                    }
                ),
            )
        }
    };
    vec![preflight, single]
}
