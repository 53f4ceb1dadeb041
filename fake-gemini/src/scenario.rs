//! Scenarios: what request a script answers (model, last user text, header, call number) and how
//! (a stream of chunks with delays, gates and split writes; an HTTP error; echo; a generated stream; a
//! safety block), ending with a finish reason, Google's raw error object, or a transport fault. The
//! same model is read from TOML (`[[scenario]]`, see the README) and built in Rust.

use regex::Regex;
use serde::Deserialize;

/// One scripted answer and the requests it applies to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in logs and the request journal.
    #[serde(default)]
    pub name: String,
    /// Which requests it answers (all, when empty).
    #[serde(default, rename = "match")]
    pub matcher: Matcher,
    /// How many requests it answers before it stops matching (unlimited when absent).
    pub times: Option<u32>,
    /// The answer.
    pub reply: Reply,
}

/// Conditions, all of which must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The model id (`gemini-2.5-flash`).
    pub model: Option<String>,
    /// A substring of the last user turn's text.
    pub last_user_contains: Option<String>,
    /// A regex over the last user turn's text.
    pub last_user_regex: Option<String>,
    /// A request header that must be present.
    pub header: Option<String>,
    /// The 1-based number of the generation call, counted over the fake's whole life.
    pub call: Option<u64>,
}

/// How to answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reply {
    /// Chunks of text, then an ending.
    Stream {
        /// The chunks, in order.
        chunks: Vec<Chunk>,
        /// What follows the last chunk.
        #[serde(default)]
        end: End,
    },
    /// An HTTP error before any byte of the stream.
    Error {
        /// 400, 403, 404, 429, 500, 503, 504, or any other status.
        status: u16,
        /// For 429: the `RetryInfo.retryDelay` (default `22s`).
        retry_delay: Option<String>,
        /// Send the error with `content-type: text/event-stream` (as some real streams do) instead of
        /// `application/json; charset=UTF-8`.
        #[serde(default)]
        event_stream_content_type: bool,
    },
    /// Quotes the last user turn back, `chunk_chars` characters per chunk.
    Echo {
        /// Text before the quote.
        #[serde(default = "default_echo_prefix")]
        prefix: String,
        /// Characters per chunk.
        #[serde(default = "default_echo_chunk")]
        chunk_chars: usize,
        /// Delay before each chunk.
        #[serde(default)]
        delay_ms: u64,
    },
    /// `count` chunks whose text is `"{i} "`, for long-stream tests.
    Generated {
        /// How many chunks.
        count: usize,
        /// Delay before each chunk.
        #[serde(default)]
        delay_ms: u64,
    },
    /// The prompt is blocked: one event with `promptFeedback.blockReason` and no candidates.
    Blocked {
        /// `SAFETY`, `OTHER`, `BLOCKLIST`, `PROHIBITED_CONTENT`, …
        #[serde(default = "default_block_reason")]
        reason: String,
    },
}

/// One chunk of a scripted stream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// The text of this chunk, byte for byte.
    pub text: String,
    /// Pause before the chunk is written.
    #[serde(default)]
    pub delay_ms: u64,
    /// Hold before this chunk until the named gate is released.
    pub gate: Option<String>,
    /// Write this chunk's event in several TCP writes, cut at these byte offsets of its text (as it
    /// appears in the JSON: equal to UTF-8 offsets unless the text has characters JSON escapes).
    /// An offset inside a multi-byte character is allowed; that is the point.
    #[serde(default)]
    pub split_at: Vec<usize>,
    /// Send this chunk's text as a thought part (`"thought": true`) whatever the request asked: a
    /// script's way to prove a client never shows a model's thoughts as its answer.
    #[serde(default)]
    pub thought: bool,
}

/// What follows the last chunk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum End {
    /// A final chunk with this `finishReason` (`STOP`, `SAFETY`, `RECITATION`, `MAX_TOKENS`, `OTHER`)
    /// and usage, shaped as the model family does it.
    Finish {
        /// The reason.
        #[serde(default = "default_finish_reason")]
        reason: String,
        /// `finishMessage` (sent with `OTHER`).
        message: Option<String>,
    },
    /// Google's raw pretty-printed `{"error": …}` with no SSE framing, then the body ends.
    Error {
        /// The error's HTTP-style code (503 by default).
        #[serde(default = "default_mid_stream_status")]
        status: u16,
    },
    /// The body ends cleanly with no final chunk (a truncated answer that looks complete on the wire).
    Close,
    /// The connection is dropped without finishing the chunked body.
    Abort,
    /// The connection is reset (TCP RST).
    Reset,
    /// Nothing more is sent and the connection stays open until the client leaves.
    Stall,
}

impl Default for End {
    fn default() -> Self {
        End::Finish {
            reason: default_finish_reason(),
            message: None,
        }
    }
}

fn default_echo_prefix() -> String {
    "You said: ".into()
}
fn default_echo_chunk() -> usize {
    16
}
fn default_block_reason() -> String {
    "SAFETY".into()
}
fn default_finish_reason() -> String {
    "STOP".into()
}
fn default_mid_stream_status() -> u16 {
    503
}

impl Scenario {
    fn with_reply(reply: Reply) -> Self {
        Self {
            name: String::new(),
            matcher: Matcher::default(),
            times: None,
            reply,
        }
    }

    /// A stream of these texts, with no delays, ending in `STOP`.
    pub fn stream<I, S>(texts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_reply(Reply::Stream {
            chunks: texts
                .into_iter()
                .map(|text| Chunk {
                    text: text.into(),
                    ..Chunk::default()
                })
                .collect(),
            end: End::default(),
        })
    }

    /// A stream of fully specified chunks.
    pub fn chunks(chunks: Vec<Chunk>, end: End) -> Self {
        Self::with_reply(Reply::Stream { chunks, end })
    }

    /// An HTTP error before streaming (Google's body for that status).
    pub fn error(status: u16) -> Self {
        Self::with_reply(Reply::Error {
            status,
            retry_delay: None,
            event_stream_content_type: false,
        })
    }

    /// A 429 whose `RetryInfo.retryDelay` is `delay` (e.g. `"7s"`).
    pub fn rate_limited(delay: &str) -> Self {
        Self::with_reply(Reply::Error {
            status: 429,
            retry_delay: Some(delay.into()),
            event_stream_content_type: false,
        })
    }

    /// Quotes the last user turn back.
    pub fn echo() -> Self {
        Self::with_reply(Reply::Echo {
            prefix: default_echo_prefix(),
            chunk_chars: default_echo_chunk(),
            delay_ms: 0,
        })
    }

    /// `count` generated chunks.
    pub fn generated(count: usize) -> Self {
        Self::with_reply(Reply::Generated { count, delay_ms: 0 })
    }

    /// A prompt blocked for `reason`.
    pub fn blocked(reason: &str) -> Self {
        Self::with_reply(Reply::Blocked {
            reason: reason.into(),
        })
    }

    /// Names it.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Answers only this model.
    pub fn for_model(mut self, model: &str) -> Self {
        self.matcher.model = Some(model.into());
        self
    }

    /// Answers only when the last user turn contains `text`.
    pub fn when_last_user_contains(mut self, text: &str) -> Self {
        self.matcher.last_user_contains = Some(text.into());
        self
    }

    /// Answers only when the last user turn matches `regex`.
    pub fn when_last_user_matches(mut self, regex: &str) -> Self {
        self.matcher.last_user_regex = Some(regex.into());
        self
    }

    /// Answers only requests carrying `header`.
    pub fn when_header(mut self, header: &str) -> Self {
        self.matcher.header = Some(header.into());
        self
    }

    /// Answers only the `n`-th generation call (1-based).
    pub fn on_call(mut self, n: u64) -> Self {
        self.matcher.call = Some(n);
        self
    }

    /// Answers at most `n` requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Ends the stream this way.
    pub fn ending(mut self, end: End) -> Self {
        if let Reply::Stream { end: current, .. } = &mut self.reply {
            *current = end;
        }
        self
    }

    /// Puts `delay_ms` before every chunk.
    pub fn with_delay(mut self, delay_ms: u64) -> Self {
        match &mut self.reply {
            Reply::Stream { chunks, .. } => chunks.iter_mut().for_each(|c| c.delay_ms = delay_ms),
            Reply::Echo { delay_ms: d, .. } | Reply::Generated { delay_ms: d, .. } => *d = delay_ms,
            _ => {}
        }
        self
    }

    /// Holds before chunk `index` (0-based) until gate `name` is released.
    pub fn gate_before(mut self, index: usize, name: &str) -> Self {
        if let Reply::Stream { chunks, .. } = &mut self.reply {
            if let Some(chunk) = chunks.get_mut(index) {
                chunk.gate = Some(name.into());
            }
        }
        self
    }

    /// Sends chunk `index` as a thought part (`"thought": true`).
    pub fn thought_at(mut self, index: usize) -> Self {
        if let Reply::Stream { chunks, .. } = &mut self.reply {
            if let Some(chunk) = chunks.get_mut(index) {
                chunk.thought = true;
            }
        }
        self
    }

    /// Writes chunk `index` in several TCP writes cut at these text offsets.
    pub fn split_chunk(mut self, index: usize, offsets: &[usize]) -> Self {
        if let Reply::Stream { chunks, .. } = &mut self.reply {
            if let Some(chunk) = chunks.get_mut(index) {
                chunk.split_at = offsets.to_vec();
            }
        }
        self
    }
}

/// A scenario ready to match: the regex compiled and the remaining uses counted.
#[derive(Debug)]
pub(crate) struct Mounted {
    pub scenario: Scenario,
    regex: Option<Regex>,
    pub remaining: Option<u32>,
}

/// What a scenario is matched against.
#[derive(Debug)]
pub(crate) struct MatchInput<'a> {
    pub model: &'a str,
    pub last_user_text: &'a str,
    pub headers: &'a axum::http::HeaderMap,
    pub call: u64,
}

impl Mounted {
    pub fn new(scenario: Scenario) -> Result<Self, regex::Error> {
        let regex = scenario
            .matcher
            .last_user_regex
            .as_deref()
            .map(Regex::new)
            .transpose()?;
        Ok(Self {
            remaining: scenario.times,
            scenario,
            regex,
        })
    }

    pub fn matches(&self, input: &MatchInput<'_>) -> bool {
        let m = &self.scenario.matcher;
        self.remaining != Some(0)
            && m.model.as_deref().is_none_or(|model| model == input.model)
            && m.last_user_contains
                .as_deref()
                .is_none_or(|text| input.last_user_text.contains(text))
            && self
                .regex
                .as_ref()
                .is_none_or(|regex| regex.is_match(input.last_user_text))
            && m.header
                .as_deref()
                .is_none_or(|name| input.headers.contains_key(name))
            && m.call.is_none_or(|call| call == input.call)
    }
}

/// The embedded default: a coding-tutor answer paced like a real model (about 1.2 s in all).
pub fn default_scenario() -> Scenario {
    let texts = [
        "Good question! ",
        "Let's look at what your code does ",
        "before we change anything.\n\n",
        "1. **Read the constraints**: with `n` up to 10^5, ",
        "an O(n²) double loop will time out. ",
        "Think about whether a single pass could work.\n",
        "2. **Keep what you've seen**: ",
        "a hash map from value to index lets you check ",
        "for the complement in O(1).\n",
        "3. **Edge cases**: empty input, duplicates, ",
        "and negative numbers.\n\n",
        "Try writing the single-pass version, and tell me where you get stuck.",
    ];
    let chunks = texts
        .iter()
        .enumerate()
        .map(|(i, text)| Chunk {
            text: (*text).to_owned(),
            delay_ms: if i == 0 { 350 } else { 75 },
            ..Chunk::default()
        })
        .collect();
    Scenario::chunks(chunks, End::default()).named("default-tutor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_scenarios_parse_with_every_reply_type() {
        #[derive(Deserialize)]
        struct File {
            scenario: Vec<Scenario>,
        }
        let file: File = toml::from_str(
            r#"
[[scenario]]
name = "limited once"
times = 1
match = { model = "gemini-2.5-flash", call = 1 }
reply = { type = "error", status = 429, retry_delay = "7s" }

[[scenario]]
match = { last_user_contains = "unicode" }
reply = { type = "stream", end = { kind = "error", status = 500 }, chunks = [
  { text = "caf", delay_ms = 5 },
  { text = "é ☕", gate = "g1", split_at = [1, 3] },
] }

[[scenario]]
reply = { type = "echo" }

[[scenario]]
reply = { type = "generated", count = 100000 }

[[scenario]]
reply = { type = "blocked" }
"#,
        )
        .unwrap();
        assert_eq!(file.scenario.len(), 5);
        let Reply::Stream { chunks, end } = &file.scenario[1].reply else {
            panic!("stream expected")
        };
        assert_eq!(chunks[1].split_at, [1, 3]);
        assert_eq!(*end, End::Error { status: 500 });
    }

    #[test]
    fn matchers_combine_and_times_run_out() {
        let headers = axum::http::HeaderMap::new();
        let input = MatchInput {
            model: "gemini-2.5-flash",
            last_user_text: "explain recursion",
            headers: &headers,
            call: 2,
        };
        let yes = Mounted::new(
            Scenario::echo()
                .for_model("gemini-2.5-flash")
                .when_last_user_matches("^explain")
                .on_call(2),
        )
        .unwrap();
        assert!(yes.matches(&input));
        let wrong_header = Mounted::new(Scenario::echo().when_header("x-case")).unwrap();
        assert!(!wrong_header.matches(&input));
        let mut spent = Mounted::new(Scenario::echo().times(1)).unwrap();
        spent.remaining = Some(0);
        assert!(!spent.matches(&input));
    }
}
