//! Data integrity and real streaming: long answers and multi-byte UTF-8 split across writes arrive
//! byte-exact and in order; concurrent conversations each get their own answer; event 1 reaches the
//! viewer while Gemini holds chunk 2, and BUFFERED holds everything until the end; a model's thought
//! parts are never relayed.

use chatbot_query::sse::Event;
use emulator::client::{Answer, Options, Received, question};
use fake_gemini::Scenario;

use crate::support::{chain, chain_with, last, text};

#[tokio::test]
async fn a_long_answer_of_100k_events_arrives_complete_and_in_order() {
    let chain = chain(vec![Scenario::generated(100_000)]).await;
    let events = chain.viewer().await.ask("long").await.events();
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Received::Event(Event::Delta(d)) => Some(d.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas.len(), 100_000);
    for (i, delta) in deltas.iter().enumerate() {
        assert_eq!(*delta, format!("{i} "), "event {i}");
    }
    assert!(matches!(last(&events), Event::Done(_)));
}

#[tokio::test]
async fn multi_byte_utf8_split_across_tcp_writes_arrives_byte_exact() {
    let texts = [
        "Für jede Zahl x: ",
        "prüfe target − x ☕ 日本語 ",
        "✓ fertig",
    ];
    let chain = chain(vec![
        Scenario::stream(texts).split_chunk(1, &[2, 3, 14, 15, 19, 24, 27]),
    ])
    .await;
    let events = chain.viewer().await.ask("hi").await.events();
    let deltas: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Received::Event(Event::Delta(d)) => Some(d.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, texts);
}

#[tokio::test]
async fn a_models_thought_parts_never_reach_the_browser() {
    // Gemini 2.5 sends thought summaries as `"thought": true` parts; here they come first, in the
    // middle, and on the final chunk, and none may be relayed as answer text.
    let chain = chain(vec![
        Scenario::stream([
            "**Planning** the hint",
            "Start with a hash map. ",
            "**Checking** edge cases",
            "Then test empty input.",
            "**Done** thinking",
        ])
        .thought_at(0)
        .thought_at(2)
        .thought_at(4),
    ])
    .await;
    let events = chain.viewer().await.ask("hi").await.events();
    assert_eq!(
        text(&events),
        "Start with a hash map. Then test empty input."
    );
    assert!(matches!(last(&events), Event::Done(_)), "{events:?}");
}

#[tokio::test]
async fn fifty_concurrent_conversations_each_get_their_own_answer() {
    let chain = chain_with(vec![Scenario::echo()], |s| {
        s.topology.function.reserved_concurrency = 50
    })
    .await;
    let viewer = std::sync::Arc::new(chain.viewer().await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let viewer = viewer.clone();
        tasks.push(tokio::spawn(async move {
            let question = format!("conversation number {i}, please quote me exactly");
            let events = viewer.ask(&question).await.events();
            (question, text(&events))
        }));
    }
    for task in tasks {
        let (question, answer) = task.await.unwrap();
        assert_eq!(answer, format!("You said: {question}"));
    }
    assert!(chain.chain.invoker.cold_starts() <= 50);
}

#[tokio::test]
async fn streaming_is_real_event_one_arrives_while_chunk_two_is_held() {
    let chain = chain(vec![Scenario::stream(["one", "two"]).gate_before(1, "g")]).await;
    let viewer = chain.viewer().await;
    let Answer::Stream(mut stream) = viewer
        .client
        .send(&question("hi"), &viewer.token, &Options::default())
        .await
        .unwrap()
    else {
        panic!("a stream")
    };
    let (first, _) = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first,
        Received::Event(Event::Delta(chatbot_query::sse::Delta {
            text: "one".into()
        }))
    );
    chain.chain.gemini.wait_for_gate("g", 1).await;
    assert!(
        !chain.chain.gemini.gate("g").open,
        "chunk 2 was still held when event 1 arrived"
    );
    chain.chain.gemini.release("g");
    assert!(matches!(
        last(&stream.collect().await.unwrap()),
        Event::Done(_)
    ));
}

#[tokio::test]
async fn buffered_mode_delivers_nothing_until_the_function_ends() {
    let chain = chain_with(
        vec![Scenario::stream(["one", "two"]).gate_before(1, "g")],
        |s| {
            s.topology.function_url.invoke_mode = emulator::topology::InvokeMode::Buffered;
        },
    )
    .await;
    let viewer = std::sync::Arc::new(chain.viewer().await);
    let asking = tokio::spawn({
        let viewer = viewer.clone();
        async move { viewer.ask("hi").await.events() }
    });
    chain.chain.gemini.wait_for_gate("g", 1).await;
    assert!(
        !asking.is_finished(),
        "nothing reaches the viewer before the function ends"
    );
    chain.chain.gemini.release("g");
    assert_eq!(text(&asking.await.unwrap()), "onetwo");
}
