//! Matching and sequences: model, text, regex, header, call number, `times`; echo; mounting over HTTP;
//! TOML script files.

use fake_gemini::{Config, FakeGemini, Scenario, Script};
use serde_json::json;

use crate::support::{KEY, body, event_texts, post, start_with, stream, stream_url};

#[tokio::test]
async fn first_call_rate_limited_then_success() {
    let fake = start_with(vec![
        Scenario::stream(["recovered"]),
        Scenario::rate_limited("1s").times(1),
    ])
    .await;
    assert_eq!(stream(&fake, "gemini-2.5-flash", "hi").await.status, 429);
    let second = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert_eq!(second.status, 200);
    assert_eq!(event_texts(&second.body), ["recovered"]);
}

#[tokio::test]
async fn matchers_pick_by_model_text_regex_header_and_call() {
    let fake = start_with(vec![
        Scenario::stream(["default"]),
        Scenario::stream(["pro"]).for_model("gemini-2.5-pro"),
        Scenario::stream(["recursion"]).when_last_user_contains("recursion"),
        Scenario::stream(["digits"]).when_last_user_matches(r"^\d+$"),
        Scenario::stream(["third"]).on_call(3),
    ])
    .await;
    let texts = |answer: crate::support::Answer| event_texts(&answer.body).join("");
    assert_eq!(
        texts(stream(&fake, "gemini-2.5-flash", "plain").await),
        "default"
    );
    assert_eq!(texts(stream(&fake, "gemini-2.5-pro", "plain").await), "pro");
    assert_eq!(
        texts(stream(&fake, "gemini-2.5-flash", "plain").await),
        "third"
    );
    assert_eq!(
        texts(stream(&fake, "gemini-2.5-flash", "explain recursion").await),
        "recursion"
    );
    assert_eq!(
        texts(stream(&fake, "gemini-2.5-flash", "12345").await),
        "digits"
    );

    fake.mount(Scenario::stream(["by header"]).when_header("x-test-case"));
    let answer = reqwest::Client::new()
        .post(stream_url(&fake, "gemini-2.5-flash"))
        .header("x-goog-api-key", KEY)
        .header("x-test-case", "1")
        .json(&body("plain"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(event_texts(&answer).join(""), "by header");
}

#[tokio::test]
async fn echo_quotes_the_last_user_turn() {
    let fake = start_with(vec![Scenario::echo()]).await;
    let request = json!({"contents": [
        {"role": "user", "parts": [{"text": "first question"}]},
        {"role": "model", "parts": [{"text": "an answer"}]},
        {"role": "user", "parts": [{"text": "second question, a longer one"}]}
    ]});
    let answer = post(&stream_url(&fake, "gemini-2.5-flash"), Some(KEY), &request).await;
    let texts = event_texts(&answer.body);
    assert!(texts.len() > 1, "echo streams in several chunks");
    assert_eq!(texts.concat(), "You said: second question, a longer one");
}

#[tokio::test]
async fn no_matching_scenario_is_a_clear_404() {
    let fake = start_with(vec![Scenario::stream(["x"]).for_model("gemini-2.5-pro")]).await;
    let answer = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert_eq!(answer.status, 404);
    assert!(
        answer
            .body
            .contains("fake-gemini: no scenario matches call 1"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn the_default_answer_is_a_paced_coding_tutor_reply() {
    let fake = FakeGemini::spawn(Config::default()).await.unwrap();
    let answer = stream(&fake, "gemini-2.5-flash", "help").await;
    let texts = event_texts(&answer.body);
    assert!(texts.len() >= 10);
    assert!(texts.concat().contains("hash map"));
}

#[tokio::test]
async fn scenarios_mount_over_http_and_load_from_toml() {
    let fake = start_with(vec![]).await;
    let client = reqwest::Client::new();
    let mounted = client
        .post(format!("{}/__fake/scenarios", fake.url()))
        .json(&json!({"name": "via-http", "reply": {"type": "stream", "chunks": [{"text": "mounted"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(mounted.status(), 201);
    assert_eq!(
        event_texts(&stream(&fake, "gemini-2.5-flash", "hi").await.body),
        ["mounted"]
    );
    let bad = client
        .post(format!("{}/__fake/scenarios", fake.url()))
        .json(&json!({"reply": {"type": "nonsense"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenarios.toml");
    std::fs::write(
        &path,
        r#"
models = ["gemini-9-experimental"]
default_scenario = false
[[scenario]]
name = "from-file"
match = { model = "gemini-9-experimental" }
reply = { type = "stream", chunks = [{ text = "from a file" }] }
"#,
    )
    .unwrap();
    let mut config = Config::default();
    Script::from_file(&path).unwrap().apply(&mut config);
    let fake = FakeGemini::spawn(config).await.unwrap();
    let answer = stream(&fake, "gemini-9-experimental", "hi").await;
    assert_eq!(event_texts(&answer.body).concat(), "from a file");
    assert_eq!(stream(&fake, "gemini-2.5-flash", "hi").await.status, 404);
}
