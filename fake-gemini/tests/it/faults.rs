//! Transport faults: clean close without a final chunk, abort, TCP reset, stall with the client
//! leaving (the stream task stops), split writes (also inside a UTF-8 character), long streams.

use std::io::ErrorKind;

use fake_gemini::{End, Scenario};
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{
    KEY, body, event_texts, open, read_until, redact_response_id, start_with, stream,
};

/// Sends a raw HTTP/1.1 request with `connection: close` and reads until EOF or an error.
async fn raw(handle: &fake_gemini::Handle, text: &str) -> (String, Option<ErrorKind>) {
    let payload = body(text).to_string();
    let request = format!(
        "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: {}\r\nx-goog-api-key: {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
        handle.addr(),
        payload.len()
    );
    let mut socket = tokio::net::TcpStream::connect(handle.addr()).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match socket.read(&mut buffer).await {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), None),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) => {
                return (
                    String::from_utf8_lossy(&received).into_owned(),
                    Some(error.kind()),
                );
            }
        }
    }
}

#[tokio::test]
async fn close_ends_the_body_cleanly_without_a_finish_reason() {
    let fake = start_with(vec![Scenario::stream(["one", "two"]).ending(End::Close)]).await;
    let (bytes, error) = raw(&fake, "hi").await;
    assert_eq!(error, None);
    assert!(
        bytes.ends_with("0\r\n\r\n"),
        "chunked terminator present: {bytes:?}"
    );
    assert!(bytes.contains("\"text\": \"two\""));
    assert!(!bytes.contains("finishReason"));
}

#[tokio::test]
async fn abort_drops_the_connection_mid_body() {
    let fake = start_with(vec![Scenario::stream(["one", "two"]).ending(End::Abort)]).await;
    let (bytes, error) = raw(&fake, "hi").await;
    assert!(bytes.contains("\"text\": \"two\""));
    assert!(
        !bytes.ends_with("0\r\n\r\n"),
        "no chunked terminator: {bytes:?}"
    );
    assert_ne!(error, Some(ErrorKind::ConnectionReset));
    let via_client = stream(&fake, "gemini-2.5-flash", "hi").await;
    assert!(
        via_client.body.starts_with("<body error"),
        "{}",
        via_client.body
    );
}

#[tokio::test]
async fn reset_sends_a_tcp_rst() {
    let fake = start_with(vec![Scenario::stream(["one", "two"]).ending(End::Reset)]).await;
    let (bytes, error) = raw(&fake, "hi").await;
    assert_eq!(error, Some(ErrorKind::ConnectionReset), "{bytes:?}");
}

#[tokio::test]
async fn a_client_leaving_a_stalled_stream_stops_its_task() {
    let fake = start_with(vec![Scenario::stream(["first"]).ending(End::Stall)]).await;
    let response = open(&fake, "gemini-2.5-flash", "hi").await;
    let mut bytes = response.bytes_stream();
    read_until(&mut bytes, "first").await;
    assert_eq!(fake.stream_counts().started, 1);
    assert_eq!(fake.stream_counts().cancelled, 0);
    drop(bytes);
    fake.wait_for_streams(|c| c.cancelled == 1).await;
    assert_eq!(fake.stream_counts().completed, 0);
}

#[tokio::test]
async fn a_client_leaving_at_a_gate_stops_the_task_too() {
    let fake = start_with(vec![Scenario::stream(["a", "b"]).gate_before(1, "held")]).await;
    let response = open(&fake, "gemini-2.5-flash", "hi").await;
    let mut bytes = response.bytes_stream();
    read_until(&mut bytes, "\"a\"").await;
    fake.wait_for_gate("held", 1).await;
    drop(bytes);
    fake.wait_for_streams(|c| c.cancelled == 1).await;
}

#[tokio::test]
async fn split_writes_reassemble_byte_exact_even_inside_a_utf8_character() {
    // "é" is 2 bytes at text offset 3..5 and "☕" 3 bytes at 6..9: cut inside both.
    let text = "café ☕ ok";
    let split = start_with(vec![
        Scenario::stream([text, " end"]).split_chunk(0, &[4, 7, 8]),
    ])
    .await;
    let whole = start_with(vec![Scenario::stream([text, " end"])]).await;
    let response = open(&split, "gemini-2.5-flash", "hi").await;
    let mut pieces = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(piece) = stream.next().await {
        pieces.push(piece.unwrap());
    }
    let joined: Vec<u8> = pieces.concat();
    let joined = String::from_utf8(joined).expect("reassembled bytes are valid UTF-8");
    let reference = stream_text(&whole).await;
    assert_eq!(redact_response_id(&joined), redact_response_id(&reference));
    assert_eq!(event_texts(&joined), [text, " end"]);
}

async fn stream_text(handle: &fake_gemini::Handle) -> String {
    stream(handle, "gemini-2.5-flash", "hi").await.body
}

#[tokio::test]
async fn a_generated_stream_arrives_complete_and_in_order() {
    let fake = start_with(vec![Scenario::generated(10_000)]).await;
    let answer = stream(&fake, "gemini-2.5-flash", "long please").await;
    let texts = event_texts(&answer.body);
    assert_eq!(texts.len(), 10_000);
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(text, &format!("{i} "));
    }
    assert_eq!(answer.body.matches("finishReason").count(), 1);
}
