//! The Gemini key read through a SigV4-signed SSM `GetParameter` against a local endpoint that checks
//! the signature's presence and shape (the emulator verifies it fully).

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chatbot_query::{App, Config};
use serde_json::{Value, json};

use crate::support::{base_env, start_cognito};

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

async fn fake_ssm(seen: Seen, key: &'static str) -> String {
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let seen = seen.clone();
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            seen.0.lock().unwrap().push((headers.clone(), body.clone()));
            if headers.get("x-amz-target").and_then(|v| v.to_str().ok()) != Some("AmazonSSM.GetParameter") {
                return (StatusCode::BAD_REQUEST, "{}").into_response();
            }
            if body["Name"] != "/chatbot/gemini-api-key" {
                return (
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "ParameterNotFound", "message": ""}).to_string(),
                )
                    .into_response();
            }
            json!({"Parameter": {"Name": body["Name"], "Type": "SecureString", "Value": key, "Version": 1,
                   "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/chatbot/gemini-api-key", "DataType": "text"}})
            .to_string()
            .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn ssm_env(cognito: &fake_cognito::Handle, gemini: &str, ssm: &str, parameter: &str) -> Config {
    let mut env = base_env(cognito, gemini);
    env.remove("GEMINI_API_KEY");
    env.extend(
        [
            ("GEMINI_API_KEY_PARAMETER", parameter),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAROLEEXAMPLE00001"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "role/secret+example+key/0000000000000000",
            ),
            ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"),
            ("AWS_ENDPOINT_URL_SSM", ssm),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Config::from_lookup(|name| env.get(name).cloned()).unwrap()
}

#[tokio::test]
async fn the_key_comes_from_a_signed_get_parameter() {
    let cognito = start_cognito().await;
    let gemini = fake_gemini::FakeGemini::spawn(fake_gemini::Config::default())
        .await
        .unwrap();
    let seen = Seen::default();
    let ssm = fake_ssm(seen.clone(), fake_gemini::DEFAULT_API_KEY).await;
    let app = Arc::new(
        App::cold_start(ssm_env(
            &cognito,
            gemini.url(),
            &ssm,
            "/chatbot/gemini-api-key",
        ))
        .await
        .expect("cold start reads the key"),
    );
    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "read once per cold start");
    let (headers, body) = &requests[0];
    assert_eq!(
        body,
        &json!({"Name": "/chatbot/gemini-api-key", "WithDecryption": true})
    );
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(
        headers["x-amz-security-token"],
        "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
    );
    let date = headers["x-amz-date"].to_str().unwrap();
    assert_eq!(date.len(), 16, "YYYYMMDDTHHMMSSZ: {date}");
    let authorization = headers["authorization"].to_str().unwrap();
    let shape = regex_lite(
        r"^AWS4-HMAC-SHA256 Credential=ASIAROLEEXAMPLE00001/\d{8}/us-east-1/ssm/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$",
    );
    let captures = shape
        .captures(authorization)
        .unwrap_or_else(|| panic!("{authorization}"));
    let signed: Vec<&str> = captures[1].split(';').collect();
    for header in [
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
    ] {
        assert!(signed.contains(&header), "{header} is signed: {signed:?}");
    }
    assert!(
        !authorization.contains("role/secret"),
        "the secret never travels"
    );

    // The key read from SSM is the one Gemini accepts: a full answer streams.
    let url = crate::support::serve(app).await;
    let token = cognito
        .mint("us-east-1_LocalPool1", &fake_cognito::MintRequest::access())
        .unwrap();
    let response = reqwest::Client::new()
        .post(url)
        .header("x-chatbot-authorization", format!("Bearer {token}"))
        .json(&crate::support::chat_body("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("event: done"));
}

#[tokio::test]
async fn a_refused_parameter_fails_the_cold_start_naming_it() {
    let cognito = start_cognito().await;
    let ssm = fake_ssm(Seen::default(), "unused").await;
    let error = App::cold_start(ssm_env(
        &cognito,
        "http://127.0.0.1:9",
        &ssm,
        "/chatbot/missing",
    ))
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "SSM GetParameter /chatbot/missing failed: HTTP 400 ParameterNotFound: "
    );
}

fn regex_lite(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}
