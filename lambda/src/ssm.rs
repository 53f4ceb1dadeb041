//! Reads the Gemini API key from SSM Parameter Store (`GetParameter`, `WithDecryption`), once per cold
//! start, signing with SigV4 (the `aws-sigv4` crate) using the role credentials Lambda puts in the
//! environment. The endpoint honours `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

use crate::config::AwsEnvironment;

/// Why the key could not be read. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsmError {
    /// The request could not be signed.
    #[error("cannot sign the SSM request: {0}")]
    Sign(String),
    /// SSM could not be reached.
    #[error("cannot reach SSM at {endpoint}: {why}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why.
        why: String,
    },
    /// SSM refused (`ParameterNotFound`, `AccessDeniedException`, …).
    #[error("SSM GetParameter {name} failed: HTTP {status} {error_type}: {message}")]
    Refused {
        /// The parameter.
        name: String,
        /// HTTP status.
        status: u16,
        /// `__type`.
        error_type: String,
        /// `message`.
        message: String,
    },
    /// The answer has no `Parameter.Value`.
    #[error("SSM answer for {0} has no Parameter.Value")]
    Malformed(String),
}

/// `GetParameter(Name = name, WithDecryption = true)`; returns the decrypted value.
pub async fn get_parameter(
    http: &reqwest::Client,
    aws: &AwsEnvironment,
    name: &str,
    now: SystemTime,
) -> Result<String, SsmError> {
    let body = json!({"Name": name, "WithDecryption": true}).to_string();
    let url = format!("{}/", aws.ssm_endpoint);
    let host = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .ok_or_else(|| SsmError::Sign(format!("bad endpoint {url}")))?;
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "AmazonSSM.GetParameter"),
    ];
    let identity = Credentials::new(
        &aws.access_key_id,
        &aws.secret_access_key,
        aws.session_token.clone(),
        None,
        "lambda-environment",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&aws.region)
        .name("ssm")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SsmError::Sign(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| SsmError::Sign(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| SsmError::Sign(e.to_string()))?
        .into_parts();
    let mut request = http::Request::builder().method("POST").uri(&url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut request = request
        .body(body.clone())
        .map_err(|e| SsmError::Sign(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    let request = reqwest::Request::try_from(request).map_err(|e| SsmError::Sign(e.to_string()))?;
    let unreachable = |why: String| SsmError::Unreachable {
        endpoint: aws.ssm_endpoint.clone(),
        why,
    };
    let response = tokio::time::timeout(Duration::from_secs(5), http.execute(request))
        .await
        .map_err(|_| unreachable("timed out after 5 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status != 200 {
        let field = |key: &str| {
            answer
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        return Err(SsmError::Refused {
            name: name.to_owned(),
            status,
            error_type: field("__type"),
            message: answer
                .get("message")
                .or_else(|| answer.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        });
    }
    answer
        .pointer("/Parameter/Value")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SsmError::Malformed(name.to_owned()))
}
