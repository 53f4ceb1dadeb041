//! `bootstrap`: the function under the Lambda Runtime API, streaming its responses.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chatbot_query::runtime::run().await
}
