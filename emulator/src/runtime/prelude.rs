//! The HTTP-integration response prelude a streaming function writes before its body:
//! `{"statusCode":…,"headers":{…},"cookies":[…]}` then exactly eight NUL bytes, then the body
//! (`reference/aws-edge.md` §8.2). Decoded incrementally: any split of the bytes gives the same result,
//! unlike emulators that take "the first body frame" as the prelude.

use bytes::{Bytes, BytesMut};
use serde_json::Value;

/// The status, headers and cookies a function chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelude {
    /// HTTP status (100–599).
    pub status: u16,
    /// Headers, in the order given.
    pub headers: Vec<(String, String)>,
    /// Cookies, turned into `set-cookie` headers by the URL.
    pub cookies: Vec<String>,
}

/// Why a prelude could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreludeError {
    /// Not JSON, or not the expected object.
    #[error("invalid response prelude: {0}")]
    Invalid(String),
    /// The body ended before the eight NUL bytes.
    #[error("the response ended inside its prelude")]
    Truncated,
}

/// What the decoder yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The prelude, once.
    Prelude(Prelude),
    /// Body bytes, as they came.
    Body(Bytes),
}

/// Feed chunks; get the prelude once, then the body pass-through.
#[derive(Debug, Default)]
pub struct PreludeDecoder {
    prelude: BytesMut,
    nuls: usize,
    done: bool,
}

const DELIMITER_LEN: usize = 8;

impl PreludeDecoder {
    /// A decoder at the start of a response.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder for a body with no prelude (the runtime sent its own content type): every byte is
    /// body.
    pub fn passthrough() -> Self {
        Self {
            done: true,
            ..Self::default()
        }
    }

    /// Whether the prelude has been decoded.
    pub fn has_prelude(&self) -> bool {
        self.done
    }

    /// Consumes a chunk.
    pub fn feed(&mut self, mut chunk: Bytes) -> Result<Vec<Decoded>, PreludeError> {
        let mut out = Vec::new();
        if !self.done {
            // JSON never contains NUL, so the first NUL starts the delimiter.
            while !chunk.is_empty() && !self.done {
                if self.nuls > 0 || chunk[0] == 0 {
                    if chunk[0] != 0 {
                        return Err(PreludeError::Invalid(format!(
                            "expected {DELIMITER_LEN} NUL bytes after the prelude, found {}",
                            self.nuls
                        )));
                    }
                    let run = chunk
                        .iter()
                        .take_while(|b| **b == 0)
                        .count()
                        .min(DELIMITER_LEN - self.nuls);
                    self.nuls += run;
                    let _ = chunk.split_to(run);
                    if self.nuls == DELIMITER_LEN {
                        self.done = true;
                        out.push(Decoded::Prelude(parse(&self.prelude)?));
                    }
                } else {
                    let json_len = chunk.iter().position(|b| *b == 0).unwrap_or(chunk.len());
                    self.prelude.extend_from_slice(&chunk.split_to(json_len));
                }
            }
        }
        if self.done && !chunk.is_empty() {
            out.push(Decoded::Body(chunk));
        }
        Ok(out)
    }

    /// Ends the response: an error if it stopped inside the prelude.
    pub fn finish(&self) -> Result<(), PreludeError> {
        if self.done {
            Ok(())
        } else {
            Err(PreludeError::Truncated)
        }
    }
}

fn parse(json: &[u8]) -> Result<Prelude, PreludeError> {
    let value: Value =
        serde_json::from_slice(json).map_err(|e| PreludeError::Invalid(e.to_string()))?;
    let status = value
        .get("statusCode")
        .and_then(Value::as_u64)
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| {
            PreludeError::Invalid("statusCode must be a number from 100 to 599".into())
        })?;
    let headers = match value.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.to_ascii_lowercase(), value)
            })
            .collect(),
        Some(_) => return Err(PreludeError::Invalid("headers must be an object".into())),
    };
    let cookies = match value.get("cookies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(PreludeError::Invalid("cookies must be a list".into())),
    };
    Ok(Prelude {
        status: status as u16,
        headers,
        cookies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &[u8] = b"{\"statusCode\":200,\"headers\":{\"Content-Type\":\"text/event-stream\"},\"cookies\":[\"a=1\"]}\0\0\0\0\0\0\0\0event: delta\ndata: {\"text\":\"\xc3\xa9\"}\n\n";

    fn decode(cuts: &[usize]) -> (Prelude, Vec<u8>) {
        let mut decoder = PreludeDecoder::new();
        let mut prelude = None;
        let mut body = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([RESPONSE.len()].iter()) {
            for item in decoder
                .feed(Bytes::copy_from_slice(&RESPONSE[from..cut]))
                .unwrap()
            {
                match item {
                    Decoded::Prelude(p) => {
                        assert!(prelude.is_none(), "prelude once");
                        prelude = Some(p);
                    }
                    Decoded::Body(b) => body.extend_from_slice(&b),
                }
            }
            from = cut;
        }
        decoder.finish().unwrap();
        (prelude.unwrap(), body)
    }

    #[test]
    fn every_split_gives_the_same_prelude_and_body() {
        let whole = decode(&[]);
        assert_eq!(whole.0.status, 200);
        assert_eq!(
            whole.0.headers,
            [("content-type".to_owned(), "text/event-stream".to_owned())]
        );
        assert_eq!(whole.0.cookies, ["a=1"]);
        assert!(whole.1.starts_with(b"event: delta"));
        for cut in 0..=RESPONSE.len() {
            assert_eq!(decode(&[cut]), whole, "split at {cut}");
        }
        for a in 0..RESPONSE.len() {
            for b in a..RESPONSE.len() {
                assert_eq!(decode(&[a, b]), whole, "split at {a},{b}");
            }
        }
    }

    #[test]
    fn broken_preludes_are_errors() {
        let mut d = PreludeDecoder::new();
        assert!(
            d.feed(Bytes::from_static(b"{\"statusCode\":200}\0\0\0x"))
                .is_err()
        );
        let mut d = PreludeDecoder::new();
        assert!(
            d.feed(Bytes::from_static(b"{\"statusCode\":99}\0\0\0\0\0\0\0\0"))
                .is_err()
        );
        let mut d = PreludeDecoder::new();
        d.feed(Bytes::from_static(b"{\"statusCode\":200}\0\0"))
            .unwrap();
        assert_eq!(d.finish(), Err(PreludeError::Truncated));
    }
}
