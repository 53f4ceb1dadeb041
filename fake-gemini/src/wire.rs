//! The bytes of an answer: `GenerateContentResponse` chunks shaped per model family, SSE framing
//! (`data: <one-line JSON>\r\n\r\n`), the JSON-array framing of the non-SSE stream, and the one-shot
//! `generateContent` body (`reference/gemini.md` §2–§3, §5).

use base64::Engine as _;
use rand::RngCore;
use serde_json::{Map, Value, json};

use crate::json;

/// How a model family shapes its chunks (captured differences, reference §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// No `index`, no `responseId`, usage without candidates until the final chunk.
    Gemini20,
    /// `index: 0` and `responseId` on every chunk, cumulative usage.
    Gemini25,
    /// As 2.5, and the `finishReason` rides on a final chunk with an empty text part.
    Gemini3,
}

impl Family {
    /// The family of a model id.
    pub fn of(model: &str) -> Self {
        if model.starts_with("gemini-2.0") || model.starts_with("gemini-1.") {
            Self::Gemini20
        } else if model.starts_with("gemini-2.5") {
            Self::Gemini25
        } else {
            Self::Gemini3
        }
    }
}

/// Builds successive chunks of one response, keeping the running usage.
#[derive(Debug)]
pub struct ResponseBuilder {
    family: Family,
    model: String,
    response_id: String,
    prompt_tokens: u64,
    candidate_chars: usize,
    /// Tokens spent thinking before the answer (Gemini 2.5 reports them in every chunk).
    thoughts_tokens: u64,
    /// The request asked `includeThoughts`.
    show_thoughts: bool,
}

/// The thought summary a thinking model sends first when the request asks `includeThoughts`
/// (reference/gemini.md §2.4: `{"text": "**…**", "thought": true}`).
pub const THOUGHT_SUMMARY: &str = "**Understanding the question**\n\nI'm reading what the student asked \
and working out which concept to explain first, without giving away the whole solution.";

/// A rough token count: Gemini averages about four characters a token for English text.
pub fn token_estimate(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn response_id() -> String {
    let mut bytes = [0u8; 17];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

const SAFETY_CATEGORIES: [&str; 4] = [
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
];

fn safety_ratings(blocked_category: Option<&str>) -> Value {
    Value::Array(
        SAFETY_CATEGORIES
            .iter()
            .map(|category| {
                if Some(*category) == blocked_category {
                    json!({"category": category, "probability": "HIGH", "blocked": true})
                } else {
                    json!({"category": category, "probability": "NEGLIGIBLE"})
                }
            })
            .collect(),
    )
}

impl ResponseBuilder {
    /// A response to a prompt of `prompt_text` from `model`.
    pub fn new(model: &str, prompt_text: &str) -> Self {
        Self {
            family: Family::of(model),
            model: model.to_owned(),
            response_id: response_id(),
            prompt_tokens: token_estimate(prompt_text).max(1),
            candidate_chars: 0,
            thoughts_tokens: 0,
            show_thoughts: false,
        }
    }

    /// Makes this a thinking answer, as Gemini 2.5 models answer unless thinking is off: the usage
    /// counts the thought tokens (`totalTokenCount` = prompt + candidates + thoughts), and
    /// [`Self::thought_chunk`] gives the summary part. Other families are left as they are.
    pub fn thinking(mut self, thinking: crate::request::Thinking) -> Self {
        if self.family == Family::Gemini25 && !thinking.disabled {
            self.thoughts_tokens = token_estimate(THOUGHT_SUMMARY);
            self.show_thoughts = thinking.include_thoughts;
        }
        self
    }

    /// The thought-summary chunk that precedes the answer, when the model thought and the request
    /// asked for thoughts.
    pub fn thought_chunk(&self) -> Option<Value> {
        (self.thoughts_tokens > 0 && self.show_thoughts).then(|| self.thought_part(THOUGHT_SUMMARY))
    }

    /// A chunk whose one part is a thought with this text.
    pub fn thought_part(&self, text: &str) -> Value {
        let content = json!({"parts": [{"text": text, "thought": true}], "role": "model"});
        self.envelope(self.candidate(Some(content), None), false)
    }

    /// The family in use.
    pub fn family(&self) -> Family {
        self.family
    }

    fn candidate_tokens(&self) -> u64 {
        (self.candidate_chars as u64).div_ceil(4)
    }

    fn usage(&self, last: bool) -> Value {
        let prompt = self.prompt_tokens;
        let details = json!([{"modality": "TEXT", "tokenCount": prompt}]);
        let mut usage = Map::new();
        usage.insert("promptTokenCount".into(), json!(prompt));
        match self.family {
            Family::Gemini20 if !last => {
                usage.insert("totalTokenCount".into(), json!(prompt));
                usage.insert("promptTokensDetails".into(), details);
            }
            Family::Gemini20 => {
                let candidates = self.candidate_tokens();
                usage.insert("candidatesTokenCount".into(), json!(candidates));
                usage.insert("totalTokenCount".into(), json!(prompt + candidates));
                usage.insert("promptTokensDetails".into(), details);
                usage.insert(
                    "candidatesTokensDetails".into(),
                    json!([{"modality": "TEXT", "tokenCount": candidates}]),
                );
            }
            Family::Gemini25 | Family::Gemini3 => {
                // Field order as captured (reference/gemini.md §2.4, gemini-2.5-flash).
                let candidates = self.candidate_tokens();
                let thoughts = self.thoughts_tokens;
                usage.insert("candidatesTokenCount".into(), json!(candidates));
                usage.insert(
                    "totalTokenCount".into(),
                    json!(prompt + candidates + thoughts),
                );
                usage.insert("promptTokensDetails".into(), details);
                if thoughts > 0 {
                    usage.insert("thoughtsTokenCount".into(), json!(thoughts));
                }
                usage.insert("serviceTier".into(), json!("standard"));
            }
        }
        Value::Object(usage)
    }

    fn envelope(&self, candidate: Value, last: bool) -> Value {
        let mut response = Map::new();
        response.insert("candidates".into(), json!([candidate]));
        response.insert("usageMetadata".into(), self.usage(last));
        response.insert("modelVersion".into(), json!(self.model));
        if self.family != Family::Gemini20 {
            response.insert("responseId".into(), json!(self.response_id));
        }
        Value::Object(response)
    }

    fn candidate(&self, content: Option<Value>, finish: Option<Map<String, Value>>) -> Value {
        let mut candidate = Map::new();
        if let Some(content) = content {
            candidate.insert("content".into(), content);
        }
        let mut rest = finish.unwrap_or_default();
        if let Some(reason) = rest.shift_remove("finishReason") {
            candidate.insert("finishReason".into(), reason);
        }
        if let Some(citations) = rest.shift_remove("citationMetadata") {
            candidate.insert("citationMetadata".into(), citations);
        }
        if self.family != Family::Gemini20 {
            candidate.insert("index".into(), json!(0));
        }
        candidate.extend(rest);
        Value::Object(candidate)
    }

    fn text_content(text: &str) -> Value {
        json!({"parts": [{"text": text}], "role": "model"})
    }

    /// A chunk carrying `text`, not the last.
    pub fn text_chunk(&mut self, text: &str) -> Value {
        self.candidate_chars += text.chars().count();
        self.envelope(self.candidate(Some(Self::text_content(text)), None), false)
    }

    /// The final chunk(s) for `reason`, given the last chunk's text (which rides on the final chunk in
    /// 2.0/2.5; Gemini 3 sends it as a normal chunk and then an empty text part with the reason).
    pub fn final_chunks(
        &mut self,
        last_text: &str,
        reason: &str,
        message: Option<&str>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let mut text = last_text;
        if self.family == Family::Gemini3 && !text.is_empty() {
            out.push(self.text_chunk(text));
            text = "";
        }
        self.candidate_chars += text.chars().count();
        let mut finish = Map::new();
        finish.insert("finishReason".into(), json!(reason));
        let content = match reason {
            // "When streaming, content is empty if content filters block the output".
            "SAFETY" => {
                finish.insert(
                    "safetyRatings".into(),
                    safety_ratings(Some("HARM_CATEGORY_DANGEROUS_CONTENT")),
                );
                None
            }
            "RECITATION" => {
                finish.insert(
                    "citationMetadata".into(),
                    json!({"citationSources": [{"startIndex": 0, "endIndex": self.candidate_chars.max(1), "uri": "https://www.google.com/"}]}),
                );
                None
            }
            "MAX_TOKENS" if text.is_empty() => Some(json!({"role": "model"})),
            "OTHER" => {
                finish.insert(
                    "finishMessage".into(),
                    json!(
                        message
                            .unwrap_or("Model failed to generate content due to internal error.")
                    ),
                );
                (!text.is_empty()).then(|| Self::text_content(text))
            }
            _ => Some(Self::text_content(text)),
        };
        if let (Some(message), false) = (message, finish.contains_key("finishMessage")) {
            finish.insert("finishMessage".into(), json!(message));
        }
        out.push(self.envelope(self.candidate(content, Some(finish)), true));
        out
    }

    /// The single event of a blocked prompt.
    pub fn blocked(&self, reason: &str) -> Value {
        let mut response = Map::new();
        response.insert(
            "promptFeedback".into(),
            json!({"blockReason": reason, "safetyRatings": safety_ratings(Some("HARM_CATEGORY_HATE_SPEECH"))}),
        );
        response.insert(
            "usageMetadata".into(),
            json!({"promptTokenCount": self.prompt_tokens, "totalTokenCount": self.prompt_tokens}),
        );
        response.insert("modelVersion".into(), json!(self.model));
        if self.family != Family::Gemini20 {
            response.insert("responseId".into(), json!(self.response_id));
        }
        Value::Object(response)
    }
}

/// One SSE event: `data: ` + one-line JSON + CRLF CRLF.
pub fn sse_event(response: &Value) -> String {
    format!("data: {}\r\n\r\n", json::compact(response))
}

/// The JSON-array stream's pieces: `[` + first element, then `\n,\n` + each next, then `\n]`.
pub fn array_element(response: &Value, first: bool) -> String {
    let pretty = json::pretty(response);
    let element = pretty.trim_end_matches('\n');
    if first {
        format!("[{element}")
    } else {
        format!("\n,\n{element}")
    }
}

/// Closes the JSON array.
pub const ARRAY_END: &str = "\n]";

/// Merges a stream's chunks into the one `generateContent` response.
pub fn unary(chunks: &[Value]) -> Value {
    let mut text = String::new();
    for chunk in chunks {
        if let Some(parts) = chunk
            .pointer("/candidates/0/content/parts")
            .and_then(Value::as_array)
        {
            for part in parts {
                text.push_str(part["text"].as_str().unwrap_or(""));
            }
        }
    }
    let Some(mut last) = chunks.last().cloned() else {
        return json!({});
    };
    if let Some(candidate) = last.pointer_mut("/candidates/0") {
        if candidate.get("content").is_some() || !text.is_empty() {
            candidate["content"] = json!({"parts": [{"text": text}], "role": "model"});
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_25_chunks_carry_index_response_id_and_cumulative_usage() {
        let mut builder = ResponseBuilder::new("gemini-2.5-flash", "12345678");
        let first = builder.text_chunk("abcd");
        let last = builder.final_chunks("efgh", "STOP", None);
        assert_eq!(last.len(), 1);
        assert_eq!(first["candidates"][0]["index"], 0);
        assert_eq!(first["responseId"], last[0]["responseId"]);
        assert_eq!(first["usageMetadata"]["candidatesTokenCount"], 1);
        assert_eq!(last[0]["usageMetadata"]["candidatesTokenCount"], 2);
        assert_eq!(last[0]["usageMetadata"]["totalTokenCount"], 4);
        let event = sse_event(&last[0]);
        assert!(event.starts_with(r#"data: {"candidates": [{"content": {"parts": [{"text": "efgh"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 2,"#), "{event}");
        assert!(event.ends_with("}\r\n\r\n"));
    }

    #[test]
    fn gemini_20_has_no_index_or_id_and_usage_candidates_only_at_the_end() {
        let mut builder = ResponseBuilder::new("gemini-2.0-flash", "hi");
        let first = builder.text_chunk("The");
        assert!(first.get("responseId").is_none());
        assert!(first["candidates"][0].get("index").is_none());
        assert!(first["usageMetadata"].get("candidatesTokenCount").is_none());
        let last = builder.final_chunks(" end", "STOP", None);
        assert!(last[0]["usageMetadata"]["candidatesTokensDetails"].is_array());
    }

    #[test]
    fn gemini_3_sends_the_reason_on_an_empty_text_part() {
        let mut builder = ResponseBuilder::new("gemini-3-pro", "hi");
        let last = builder.final_chunks("done", "STOP", None);
        assert_eq!(last.len(), 2);
        assert_eq!(
            last[0]["candidates"][0]["content"]["parts"][0]["text"],
            "done"
        );
        assert_eq!(last[1]["candidates"][0]["content"]["parts"][0]["text"], "");
        assert_eq!(last[1]["candidates"][0]["finishReason"], "STOP");
    }

    #[test]
    fn safety_and_recitation_finishes_have_no_content() {
        let mut builder = ResponseBuilder::new("gemini-2.5-flash", "hi");
        let safety = builder.final_chunks("", "SAFETY", None);
        assert!(safety[0]["candidates"][0].get("content").is_none());
        assert_eq!(
            safety[0]["candidates"][0]["safetyRatings"][3]["blocked"],
            true
        );
        let recitation = builder.final_chunks("", "RECITATION", None);
        assert!(recitation[0]["candidates"][0]["citationMetadata"].is_object());
        let max = builder.final_chunks("", "MAX_TOKENS", None);
        assert_eq!(max[0]["candidates"][0]["content"], json!({"role": "model"}));
    }

    #[test]
    fn array_framing_puts_commas_on_their_own_lines() {
        let a = json!({"a": 1});
        let text = format!(
            "{}{}{}",
            array_element(&a, true),
            array_element(&a, false),
            ARRAY_END
        );
        assert_eq!(text, "[{\n  \"a\": 1\n}\n,\n{\n  \"a\": 1\n}\n]");
    }
}
