//! Starting chains for the suite.

use e2e::{Setup, TestChain, real_function};
use emulator::runtime::FunctionProcess;
use fake_gemini::Scenario;

pub fn function() -> FunctionProcess {
    real_function(env!("CARGO_BIN_EXE_chatbot-function"))
}

/// The bash stand-in that crashes or hangs after taking one invocation.
pub use emulator::testing::scripted_function as scripted;

pub async fn chain(scenarios: Vec<Scenario>) -> TestChain {
    TestChain::start(Setup::new(function(), scenarios)).await
}

pub async fn chain_with(scenarios: Vec<Scenario>, change: impl FnOnce(&mut Setup)) -> TestChain {
    let mut setup = Setup::new(function(), scenarios);
    change(&mut setup);
    TestChain::start(setup).await
}

/// A chain whose function is the scripted stand-in doing `behaviour` (see emulator/testing/scripted.sh),
/// with `change` applied on top.
pub async fn scripted_chain(behaviour: &str, change: impl FnOnce(&mut Setup)) -> TestChain {
    let mut setup = Setup::new(scripted(), vec![]);
    setup
        .topology
        .function
        .env
        .insert("BEHAVIOUR".into(), behaviour.into());
    change(&mut setup);
    TestChain::start(setup).await
}

/// The text of every delta, concatenated.
pub fn text(events: &[emulator::client::Received]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            emulator::client::Received::Event(chatbot_query::sse::Event::Delta(d)) => {
                Some(d.text.as_str())
            }
            _ => None,
        })
        .collect()
}

/// The last event.
pub fn last(events: &[emulator::client::Received]) -> &chatbot_query::sse::Event {
    match events
        .iter()
        .rev()
        .find(|e| matches!(e, emulator::client::Received::Event(_)))
    {
        Some(emulator::client::Received::Event(event)) => event,
        _ => panic!("no event in {events:?}"),
    }
}
