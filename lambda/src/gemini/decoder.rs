//! An incremental decoder for Gemini's `alt=sse` stream: bytes in any split (inside a line, inside a
//! CRLF, inside a UTF-8 character) give the same events. Handles LF, CRLF and CR line ends, and Google's
//! raw pretty-printed `{"error": …}` object that can follow HTTP 200 with no SSE framing.

use serde_json::Value;

/// One thing the stream said.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamEvent {
    /// A `GenerateContentResponse` chunk.
    Chunk(Value),
    /// Google's raw error object (the `error` member).
    Error(Value),
    /// Something that is neither: garbage where JSON was expected.
    Garbage(String),
}

/// Feed bytes, take events.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    data_lines: Vec<String>,
    raw_json: String,
    raw_depth: i64,
    pending_cr: bool,
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<UpstreamEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.pending_cr {
                self.pending_cr = false;
                if byte == b'\n' {
                    continue; // the LF of a CRLF already ended the line
                }
            }
            match byte {
                b'\r' => {
                    self.pending_cr = true;
                    self.end_line(&mut events);
                }
                b'\n' => self.end_line(&mut events),
                _ => self.buffer.push(byte),
            }
        }
        events
    }

    /// Ends the stream: a final event without its blank line, or an unfinished raw object, is reported.
    pub fn finish(&mut self) -> Vec<UpstreamEvent> {
        let mut events = Vec::new();
        if !self.buffer.is_empty() {
            self.end_line(&mut events);
        }
        self.dispatch(&mut events);
        if !self.raw_json.trim().is_empty() {
            events.push(UpstreamEvent::Garbage(std::mem::take(&mut self.raw_json)));
        }
        events
    }

    fn end_line(&mut self, events: &mut Vec<UpstreamEvent>) {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned();
        if !self.raw_json.is_empty()
            || (self.data_lines.is_empty() && line.trim_start().starts_with('{'))
        {
            self.raw_line(&line, events);
            return;
        }
        if line.is_empty() {
            self.dispatch(events);
        } else if let Some(data) = line.strip_prefix("data:") {
            self.data_lines
                .push(data.strip_prefix(' ').unwrap_or(data).to_owned());
        } else if line.starts_with(':')
            || line.starts_with("event:")
            || line.starts_with("id:")
            || line.starts_with("retry:")
        {
            // Comments and fields Gemini does not use.
        } else {
            events.push(UpstreamEvent::Garbage(line));
        }
    }

    fn dispatch(&mut self, events: &mut Vec<UpstreamEvent>) {
        if self.data_lines.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data_lines).join("\n");
        events.push(classify(&data));
    }

    /// Accumulates a raw JSON object line by line, balancing braces outside strings.
    fn raw_line(&mut self, line: &str, events: &mut Vec<UpstreamEvent>) {
        let mut in_string = false;
        let mut escaped = false;
        for c in line.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_string = false,
                (false, _, '"') => in_string = true,
                (false, _, '{') => self.raw_depth += 1,
                (false, _, '}') => self.raw_depth -= 1,
                _ => {}
            }
        }
        self.raw_json.push_str(line);
        self.raw_json.push('\n');
        if self.raw_depth <= 0 {
            self.raw_depth = 0;
            let text = std::mem::take(&mut self.raw_json);
            events.push(classify(&text));
        }
    }
}

fn classify(text: &str) -> UpstreamEvent {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => match value.get("error") {
            Some(error) => UpstreamEvent::Error(error.clone()),
            None => UpstreamEvent::Chunk(value),
        },
        Err(_) => UpstreamEvent::Garbage(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"caf\u{e9} \u{2615}\"}],\"role\": \"model\"},\"index\": 0}]}\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"!\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}]}\r\n\r\n{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The {model} is overloaded.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";

    fn decode_split(bytes: &[u8], cuts: &[usize]) -> Vec<UpstreamEvent> {
        let mut decoder = Decoder::new();
        let mut events = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([bytes.len()].iter()) {
            events.extend(decoder.feed(&bytes[from..cut]));
            from = cut;
        }
        events.extend(decoder.finish());
        events
    }

    #[test]
    fn every_split_of_the_bytes_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        let whole = decode_split(bytes, &[]);
        assert_eq!(whole.len(), 3);
        assert!(matches!(&whole[2], UpstreamEvent::Error(e) if e["code"] == 503));
        for cut in 0..=bytes.len() {
            assert_eq!(decode_split(bytes, &[cut]), whole, "split at {cut}");
        }
        for a in (0..bytes.len()).step_by(7) {
            for b in (a..bytes.len()).step_by(11) {
                assert_eq!(decode_split(bytes, &[a, b]), whole, "split at {a},{b}");
            }
        }
        let one_by_one: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(decode_split(bytes, &one_by_one), whole);
    }

    #[test]
    fn lf_cr_and_crlf_framings_agree() {
        let crlf = STREAM.as_bytes();
        let lf = STREAM.replace("\r\n", "\n");
        let cr = STREAM.replace("\r\n", "\r");
        let expected = decode_split(crlf, &[]);
        assert_eq!(decode_split(lf.as_bytes(), &[]), expected);
        assert_eq!(decode_split(cr.as_bytes(), &[]), expected);
    }

    #[test]
    fn garbage_and_a_final_event_without_blank_line_are_reported() {
        let events = decode_split(b"data: {\"a\": 1}\n\nHTTP/1.1 oops\ndata: {\"b\": 2}", &[]);
        assert_eq!(events.len(), 3);
        assert!(matches!(&events[1], UpstreamEvent::Garbage(g) if g == "HTTP/1.1 oops"));
        assert!(matches!(&events[2], UpstreamEvent::Chunk(v) if v["b"] == 2));
        let truncated = decode_split(b"{\n  \"error\": {\n", &[]);
        assert!(matches!(&truncated[0], UpstreamEvent::Garbage(_)));
        let bad = decode_split(b"data: {not json}\n\n", &[]);
        assert!(matches!(&bad[0], UpstreamEvent::Garbage(_)));
    }
}
