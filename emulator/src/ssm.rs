//! SSM Parameter Store's `GetParameter` (JSON protocol, `X-Amz-Target: AmazonSSM.GetParameter`), enough
//! for the function's cold start: the caller's SigV4 is verified against the function role's
//! credentials, a parameter the role has no grant for is refused, and errors have AWS's shapes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::server::{Limits, Served};
use crate::sigv4::{self, Identity, SigV4Error, VerifyOptions};
use crate::topology::Topology;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

/// One SSM error, rendered as AWS's JSON protocol does (HTTP 400, `__type`, `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsmError {
    /// No signature.
    MissingAuthenticationToken,
    /// A bad signature.
    InvalidSignature(String),
    /// Unknown key or token.
    UnrecognizedClient,
    /// The role has no grant for the parameter.
    AccessDenied(String),
    /// No such parameter.
    ParameterNotFound,
    /// An operation the emulation does not serve.
    UnknownOperation,
    /// A malformed body.
    Validation(String),
}

impl SsmError {
    fn response(&self) -> Response {
        let (status, body) = match self {
            Self::MissingAuthenticationToken => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}),
            ),
            Self::InvalidSignature(message) => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "InvalidSignatureException", "message": message}),
            ),
            Self::UnrecognizedClient => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}),
            ),
            Self::AccessDenied(message) => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "AccessDeniedException", "Message": message}),
            ),
            Self::ParameterNotFound => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "ParameterNotFound", "message": ""}),
            ),
            Self::UnknownOperation => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "com.amazon.coral.service#UnknownOperationException"}),
            ),
            Self::Validation(message) => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "ValidationException", "message": message}),
            ),
        };
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert("x-amzn-requestid", id);
        }
        response
    }
}

/// What the SSM endpoint needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: the function learns it from `AWS_ENDPOINT_URL_SSM`).
    pub addr: SocketAddr,
    /// The parameters, and the function role that may read them.
    pub topology: Topology,
    /// Time for SigV4 skew.
    pub clock: Arc<dyn Clock>,
    /// The listener's limits.
    pub limits: Limits,
}

/// A running SSM endpoint: [`Served`]'s `addr()`, `url()`, `shed()` and `shutdown()`; dropping it stops
/// the listener.
pub type Handle = Served;

/// The routes: every request is a `GetParameter` call (or refused as AWS does).
pub fn router(config: Config) -> axum::Router {
    let config = Arc::new(config);
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let config = config.clone();
        async move {
            get_parameter(&config, request)
                .await
                .unwrap_or_else(|e| e.response())
        }
    })
}

/// Binds and serves.
pub async fn spawn(config: Config) -> std::io::Result<Handle> {
    let (addr, limits) = (config.addr, config.limits);
    let served = crate::server::serve(addr, router(config), limits).await?;
    Ok(served)
}

async fn get_parameter(
    state: &Config,
    request: axum::extract::Request,
) -> Result<Response, SsmError> {
    let (parts, body) = request.into_parts();
    let body = crate::server::read_body(body, 64 * 1024, state.limits.body_idle_timeout)
        .await
        .map_err(|e| SsmError::Validation(e.to_string()))?;
    let headers = crate::server::header_list(&parts.headers);
    let topology = &state.topology;
    let role = &topology.function.role;
    let options = VerifyOptions {
        region: topology.region.clone(),
        service: "ssm".into(),
        normalize_path: true,
        max_skew: Duration::from_secs(300),
        allow_unsigned_payload: false,
    };
    let verified = sigv4::verify(
        &sigv4::verify::Request {
            method: parts.method.as_str(),
            path: parts.uri.path().as_bytes(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        },
        |akid| {
            (akid == role.access_key_id).then(|| Identity {
                access_key_id: role.access_key_id.clone(),
                secret_access_key: role.secret_access_key.clone(),
                session_token: Some(role.session_token.clone()),
            })
        },
        &options,
        state.clock.now(),
    );
    match verified {
        Ok(_) => {}
        Err(SigV4Error::Missing) => return Err(SsmError::MissingAuthenticationToken),
        Err(SigV4Error::InvalidToken) => return Err(SsmError::UnrecognizedClient),
        Err(other) => return Err(SsmError::InvalidSignature(other.to_string())),
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    if target != Some("AmazonSSM.GetParameter") {
        return Err(SsmError::UnknownOperation);
    }
    let request: Value =
        serde_json::from_slice(&body).map_err(|e| SsmError::Validation(e.to_string()))?;
    let name = request
        .get("Name")
        .and_then(Value::as_str)
        .ok_or_else(|| SsmError::Validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null".into()))?;
    let decrypt = request
        .get("WithDecryption")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let arn = format!(
        "arn:aws:ssm:{}:{}:parameter{}",
        topology.region, topology.account_id, name
    );
    if !role
        .ssm_get_parameter
        .iter()
        .any(|granted| granted == name || granted == &arn || granted == "*")
    {
        let role_name = role.arn.rsplit('/').next().unwrap_or("");
        return Err(SsmError::AccessDenied(format!(
            "User: arn:aws:sts::{}:assumed-role/{role_name}/{} is not authorized to perform: ssm:GetParameter on resource: {arn} because no identity-based policy allows the ssm:GetParameter action",
            topology.account_id, topology.function.name
        )));
    }
    let parameter = topology
        .ssm_parameters
        .iter()
        .find(|p| p.name == name)
        .ok_or(SsmError::ParameterNotFound)?;
    let value = if parameter.parameter_type == "SecureString" && !decrypt {
        // Without decryption a SecureString comes back as its ciphertext.
        base64::engine::general_purpose::STANDARD
            .encode(format!("AQICAHjLocalKmsEnvelope:{}", parameter.value.len()))
    } else {
        parameter.value.clone()
    };
    let body = json!({"Parameter": {
        "ARN": arn,
        "DataType": "text",
        "LastModifiedDate": 1.7959248e9,
        "Name": name,
        "Type": parameter.parameter_type,
        "Value": value,
        "Version": 1
    }});
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Ok(response)
}
