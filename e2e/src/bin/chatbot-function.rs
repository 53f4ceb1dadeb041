//! The function, as the e2e suite's execution environments run it: the same code as `bootstrap`
//! (`chatbot_query::runtime::run`), built as a binary of this package so tests reach it through
//! `env!("CARGO_BIN_EXE_chatbot-function")`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chatbot_query::runtime::run().await
}
