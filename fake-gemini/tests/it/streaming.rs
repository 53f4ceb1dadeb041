//! The stream on the wire: headers, exact bytes per model family, framings, and flushing proven with a
//! gate.

use fake_gemini::{End, Scenario};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::support::{KEY, body, open, post, read_until, redact_response_id, start_with, stream};

#[tokio::test]
async fn sse_headers_are_googles() {
    let fake = start_with(vec![Scenario::stream(["Hi"])]).await;
    let answer = stream(&fake, "gemini-2.5-flash", "hello").await;
    assert_eq!(answer.status, 200);
    let h = &answer.headers;
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["content-disposition"], "attachment");
    assert_eq!(h["transfer-encoding"], "chunked");
    let vary: Vec<&str> = h
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(vary, ["Origin", "X-Origin", "Referer"]);
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("cache-control").is_none());
}

#[tokio::test]
async fn stream_bytes_per_model_family() {
    let fake = start_with(vec![Scenario::stream([
        "The",
        " capital is <b>Cheyenne</b>.\n",
    ])])
    .await;
    for model in ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-3-pro"] {
        let answer = stream(&fake, model, "What is the capital of Wyoming?").await;
        assert!(answer.body.ends_with("}\r\n\r\n"));
        assert!(!answer.body.contains("[DONE]"));
        // insta normalises line endings, so the CRLF framing is pinned here: every event is
        // `data: ` + one line of JSON + CRLF CRLF, with no other line breaks.
        let events: Vec<&str> = answer.body.split_terminator("\r\n\r\n").collect();
        assert!(events.len() >= 2);
        for event in events {
            assert!(event.starts_with("data: {"), "{event:?}");
            assert!(!event.contains(['\r', '\n']), "{event:?}");
        }
        insta::assert_snapshot!(format!("stream_{model}"), redact_response_id(&answer.body));
    }
}

#[tokio::test]
async fn json_array_form_and_generate_content_answer_the_same_script() {
    let fake = start_with(vec![Scenario::stream(["Hello", " there"])]).await;
    let array = post(
        &format!(
            "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            fake.url()
        ),
        Some(KEY),
        &body("hi"),
    )
    .await;
    assert_eq!(
        array.headers["content-type"],
        "application/json; charset=UTF-8"
    );
    let parsed: Vec<Value> = serde_json::from_str(&array.body).expect("a JSON array");
    assert_eq!(parsed.len(), 2);
    insta::assert_snapshot!("json_array_stream", redact_response_id(&array.body));

    let unary = post(
        &format!(
            "{}/v1beta/models/gemini-2.5-flash:generateContent",
            fake.url()
        ),
        Some(KEY),
        &body("hi"),
    )
    .await;
    assert_eq!(
        unary.headers["content-type"],
        "application/json; charset=UTF-8"
    );
    let value: Value = serde_json::from_str(&unary.body).unwrap();
    assert_eq!(
        value["candidates"][0]["content"]["parts"][0]["text"],
        "Hello there"
    );
    assert_eq!(value["candidates"][0]["finishReason"], "STOP");
    insta::assert_snapshot!("generate_content", redact_response_id(&unary.body));
}

#[tokio::test]
async fn chunk_one_is_in_hand_while_chunk_two_is_held_at_the_gate() {
    let fake = start_with(vec![
        Scenario::stream(["first chunk", "second chunk"]).gate_before(1, "g"),
    ])
    .await;
    let response = open(&fake, "gemini-2.5-flash", "hi").await;
    let mut bytes = response.bytes_stream();
    let got = read_until(&mut bytes, "first chunk").await;
    assert!(!got.contains("second chunk"));
    // The gate proves the ordering: chunk 2 has not been written, yet chunk 1 has been read.
    fake.wait_for_gate("g", 1).await;
    assert!(!fake.gate("g").open);
    fake.release("g");
    let rest = read_until(&mut bytes, "second chunk").await;
    assert!(rest.contains("\"finishReason\": \"STOP\""));
    assert!(bytes.next().await.is_none());
}

#[tokio::test]
async fn finish_reasons_are_reported_as_gemini_does() {
    let cases = [
        (
            "SAFETY",
            End::Finish {
                reason: "SAFETY".into(),
                message: None,
            },
        ),
        (
            "RECITATION",
            End::Finish {
                reason: "RECITATION".into(),
                message: None,
            },
        ),
        (
            "MAX_TOKENS",
            End::Finish {
                reason: "MAX_TOKENS".into(),
                message: None,
            },
        ),
        (
            "OTHER",
            End::Finish {
                reason: "OTHER".into(),
                message: Some("Model failed to generate content due to internal error.".into()),
            },
        ),
    ];
    for (name, end) in cases {
        let fake = start_with(vec![Scenario::chunks(
            vec![
                fake_gemini::Chunk {
                    text: "partial answer".into(),
                    ..Default::default()
                },
                fake_gemini::Chunk::default(),
            ],
            end,
        )])
        .await;
        let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
        insta::assert_snapshot!(format!("finish_{name}"), redact_response_id(&answer.body));
    }
}

#[tokio::test]
async fn a_blocked_prompt_is_one_event_with_prompt_feedback() {
    let fake = start_with(vec![Scenario::blocked("SAFETY")]).await;
    let answer = stream(&fake, "gemini-2.0-flash", "something bad").await;
    assert_eq!(answer.status, 200);
    insta::assert_snapshot!("blocked_prompt", answer.body);
}

#[tokio::test]
async fn gemini_25_counts_thoughts_and_sends_them_only_when_asked() {
    let fake = start_with(vec![Scenario::stream(["Hello", " there"])]).await;
    let url = crate::support::stream_url(&fake, "gemini-2.5-flash");
    let events = |body: &str| -> Vec<Value> {
        body.split("\r\n\r\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("JSON event"))
            .collect()
    };

    let plain = events(&post(&url, Some(KEY), &body("hi")).await.body);
    assert_eq!(plain.len(), 2, "no thought part unless asked");
    for event in &plain {
        let usage = &event["usageMetadata"];
        let sum = usage["promptTokenCount"].as_u64().unwrap()
            + usage["candidatesTokenCount"].as_u64().unwrap()
            + usage["thoughtsTokenCount"]
                .as_u64()
                .expect("2.5 reports thoughts");
        assert_eq!(usage["totalTokenCount"].as_u64(), Some(sum), "{usage}");
    }

    let mut asking = body("hi");
    asking["generationConfig"] = json!({"thinkingConfig": {"includeThoughts": true}});
    let with_thoughts = events(&post(&url, Some(KEY), &asking).await.body);
    assert_eq!(with_thoughts.len(), 3);
    let part = &with_thoughts[0]["candidates"][0]["content"]["parts"][0];
    assert_eq!(part["thought"], true);
    assert!(part["text"].as_str().unwrap().starts_with("**"), "{part}");
    assert_eq!(with_thoughts[2]["candidates"][0]["finishReason"], "STOP");

    let mut off = body("hi");
    off["generationConfig"] =
        json!({"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": true}});
    let unthinking = events(&post(&url, Some(KEY), &off).await.body);
    assert_eq!(unthinking.len(), 2);
    assert!(
        unthinking[1]["usageMetadata"]
            .get("thoughtsTokenCount")
            .is_none()
    );

    // Gemini 2.0 does not think.
    let old = events(
        &post(
            &crate::support::stream_url(&fake, "gemini-2.0-flash"),
            Some(KEY),
            &asking,
        )
        .await
        .body,
    );
    assert!(
        old.iter()
            .all(|e| e["usageMetadata"].get("thoughtsTokenCount").is_none())
    );
}
