//! Google's error bodies before the stream (each status), after HTTP 200, and for auth, model and
//! request-shape mistakes.

use fake_gemini::{End, Scenario};
use serde_json::json;

use crate::support::{KEY, body, post, redact_response_id, start_with, stream, stream_url};

fn wire(answer: &crate::support::Answer) -> String {
    format!(
        "{}\ncontent-type: {}\n{}",
        answer.status.as_u16(),
        answer.headers["content-type"].to_str().unwrap(),
        answer.body
    )
}

#[tokio::test]
async fn each_http_error_before_streaming_has_googles_body() {
    for status in [400, 403, 404, 429, 500, 503, 504] {
        let fake = start_with(vec![Scenario::error(status)]).await;
        let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
        assert_eq!(answer.status.as_u16(), status);
        assert!(
            answer.headers.get("retry-after").is_none(),
            "Gemini sends no Retry-After"
        );
        insta::assert_snapshot!(format!("http_error_{status}"), wire(&answer));
    }
}

#[tokio::test]
async fn rate_limit_delay_is_scriptable_and_event_stream_content_type_selectable() {
    let fake = start_with(vec![Scenario::rate_limited("7.5s")]).await;
    let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(value["error"]["details"][2]["retryDelay"], "7.5s");

    let mut scenario = Scenario::error(503);
    if let fake_gemini::Reply::Error {
        event_stream_content_type,
        ..
    } = &mut scenario.reply
    {
        *event_stream_content_type = true;
    }
    let fake = start_with(vec![scenario]).await;
    let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert_eq!(answer.headers["content-type"], "text/event-stream");
}

#[tokio::test]
async fn an_error_after_200_is_the_raw_pretty_object() {
    let fake = start_with(vec![
        Scenario::stream(["Partial", " answer"]).ending(End::Error { status: 503 }),
    ])
    .await;
    let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .body
            .ends_with("\"status\": \"UNAVAILABLE\"\n  }\n}\n")
    );
    insta::assert_snapshot!("error_after_200", redact_response_id(&answer.body));
}

#[tokio::test]
async fn keys_are_checked_like_google() {
    let fake = start_with(vec![Scenario::stream(["ok"])]).await;
    let url = stream_url(&fake, "gemini-2.5-flash");
    let none = post(&url, None, &body("hi")).await;
    insta::assert_snapshot!("no_api_key", wire(&none));
    let wrong = post(&url, Some("not-the-key"), &body("hi")).await;
    insta::assert_snapshot!("wrong_api_key", wire(&wrong));
    let in_query = post(&format!("{url}&key={KEY}"), None, &body("hi")).await;
    assert_eq!(in_query.status, 200);
}

#[tokio::test]
async fn unknown_models_and_malformed_requests_are_refused() {
    let fake = start_with(vec![Scenario::stream(["ok"])]).await;
    let unknown = stream(&fake, "gemini-pro", "hi").await;
    insta::assert_snapshot!("unknown_model", wire(&unknown));
    let url = stream_url(&fake, "gemini-2.5-flash");
    let cases = [
        (
            "unknown_field",
            json!({"contents": [{"parts": [{"text": "x", "role": "user"}]}]}),
        ),
        (
            "no_contents",
            json!({"generationConfig": {"temperature": 0.5}}),
        ),
        (
            "empty_parts",
            json!({"contents": [{"role": "user", "parts": []}]}),
        ),
    ];
    for (name, request) in cases {
        let answer = post(&url, Some(KEY), &request).await;
        insta::assert_snapshot!(format!("bad_request_{name}"), wire(&answer));
    }
    let malformed = reqwest::Client::new()
        .post(&url)
        .header("x-goog-api-key", KEY)
        .body("{\"contents\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let value: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(value["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        value["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
}

#[tokio::test]
async fn errors_in_the_json_array_mode_are_wrapped_in_the_array() {
    let fake = start_with(vec![Scenario::error(503)]).await;
    let array_url = format!(
        "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        fake.url()
    );
    let overloaded = post(&array_url, Some(KEY), &body("hi")).await;
    assert_eq!(overloaded.status, 503);
    assert!(
        overloaded.body.starts_with("[{\n  \"error\": {"),
        "{}",
        overloaded.body
    );
    assert!(overloaded.body.ends_with("}\n}\n]"), "{}", overloaded.body);
    let parsed: serde_json::Value = serde_json::from_str(&overloaded.body).expect("a JSON array");
    assert_eq!(parsed[0]["error"]["status"], "UNAVAILABLE");
    insta::assert_snapshot!("json_array_error_503", wire(&overloaded));

    let wrong_key = post(&array_url, Some("not-the-key"), &body("hi")).await;
    assert_eq!(wrong_key.status, 400);
    let parsed: serde_json::Value = serde_json::from_str(&wrong_key.body).expect("a JSON array");
    assert_eq!(parsed[0]["error"]["status"], "INVALID_ARGUMENT");

    // The SSE and unary forms keep the bare object.
    let sse = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert!(sse.body.starts_with("{\n  \"error\""), "{}", sse.body);
}
