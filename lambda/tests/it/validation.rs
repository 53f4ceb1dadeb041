//! Request validation: every status before authentication and after it, with the JSON error bodies.

use serde_json::json;

use crate::support::{Setup, start, wire};

#[tokio::test]
async fn routing_method_media_type_and_size() {
    let function = start(Setup::default()).await;
    let base = function.url.trim_end_matches("/chatbot").to_owned();
    let token = function.access_token();
    let client = &function.http;
    let other_path = client
        .post(format!("{base}/other"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!("not_found", wire(other_path).await);
    let get = client.get(&function.url).send().await.unwrap();
    insta::assert_snapshot!("method_not_allowed", wire(get).await);
    let text = client
        .post(&function.url)
        .header("content-type", "text/plain")
        .header("x-chatbot-authorization", format!("Bearer {token}"))
        .body("hi")
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!("unsupported_media_type", wire(text).await);
    let big = client
        .post(&function.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-chatbot-authorization", format!("Bearer {token}"))
        .body(vec![b' '; 64 * 1024 + 1])
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!("payload_too_large", wire(big).await);
    assert!(function.gemini.received_requests().is_empty());
}

#[tokio::test]
async fn bodies_are_validated_after_authentication() {
    let function = start(Setup::default()).await;
    let token = function.access_token();
    let cases = [
        ("invalid_json", b"{\"messages\": [".to_vec()),
        ("invalid_utf8", b"{\"messages\": \"\xff\"}".to_vec()),
        ("no_messages", br#"{"messages": []}"#.to_vec()),
        ("last_not_user", br#"{"messages": [{"role": "model", "content": "x"}]}"#.to_vec()),
        ("empty_content", br#"{"messages": [{"role": "user", "content": ""}]}"#.to_vec()),
        ("unknown_role", br#"{"messages": [{"role": "system", "content": "x"}]}"#.to_vec()),
        (
            "context_too_long",
            format!(r#"{{"messages": [{{"role": "user", "content": "x"}}], "context": {{"language": "{}"}}}}"#, "r".repeat(65)).into_bytes(),
        ),
    ];
    for (name, body) in cases {
        let response = function
            .http
            .post(&function.url)
            .header("content-type", "application/json")
            .header("x-chatbot-authorization", format!("Bearer {token}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{name}");
        insta::assert_snapshot!(format!("bad_request_{name}"), wire(response).await);
    }
    let too_many = json!({"messages": vec![json!({"role": "user", "content": "x"}); 51]});
    let response = function.ask_with(Some(&token), &too_many).await;
    insta::assert_snapshot!("bad_request_too_many_messages", wire(response).await);
    assert!(function.gemini.received_requests().is_empty());
}
