//! The `GenerateContentRequest` the fake accepts, validated the way the API does: proto3 JSON (camelCase
//! or snake_case field names), unknown fields refused with Google's "Unknown name" 400, and the semantic
//! checks real callers trip over. What a scenario matches on is extracted here too.

use serde_json::{Map, Value};

use crate::errors::GeminiError;

/// A validated request, and what scenarios match on.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The body as sent.
    pub body: Value,
    /// Text of the last `user` (or role-less) turn.
    pub last_user_text: String,
    /// All text of the prompt (system instruction and contents), for token counts and echo.
    pub prompt_text: String,
    /// `generationConfig.thinkingConfig`, as far as the answer's shape depends on it.
    pub thinking: Thinking,
}

/// What the request asked of a thinking model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Thinking {
    /// `includeThoughts`: thought summaries come back as `"thought": true` parts.
    pub include_thoughts: bool,
    /// `thinkingBudget: 0` turns thinking off (Gemini 2.5 Flash); no thoughts are counted then.
    pub disabled: bool,
}

const REQUEST_FIELDS: &[&str] = &[
    "contents",
    "systemInstruction",
    "generationConfig",
    "safetySettings",
    "tools",
    "toolConfig",
    "cachedContent",
    "model",
];
const CONTENT_FIELDS: &[&str] = &["role", "parts"];
const PART_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
];
const GENERATION_CONFIG_FIELDS: &[&str] = &[
    "candidateCount",
    "stopSequences",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "responseModalities",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
    "enableEnhancedCivicAnswers",
];
const THINKING_CONFIG_FIELDS: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];
const SAFETY_SETTING_FIELDS: &[&str] = &["category", "threshold", "method"];

/// Parses and validates a request body.
pub fn parse(bytes: &[u8]) -> Result<GenerateRequest, GeminiError> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| GeminiError::InvalidJsonPayload {
            field: String::new(),
            message: format!("Invalid JSON payload received. {}", describe_json_error(&e)),
        })?;
    let Value::Object(object) = &body else {
        return Err(GeminiError::InvalidJsonPayload {
            field: String::new(),
            message: "Invalid JSON payload received. Expected an object.".into(),
        });
    };
    check_fields(object, REQUEST_FIELDS, "")?;
    let mut prompt = String::new();
    if let Some(system) = field(object, "systemInstruction") {
        let system = as_object(system, "system_instruction")?;
        check_content(system, "system_instruction")?;
        collect_text(system, &mut prompt);
    }
    let mut thinking_asked = Thinking::default();
    if let Some(config) = field(object, "generationConfig") {
        let config = as_object(config, "generation_config")?;
        check_fields(config, GENERATION_CONFIG_FIELDS, "generation_config")?;
        if let Some(thinking) = field(config, "thinkingConfig") {
            let thinking = as_object(thinking, "generation_config.thinking_config")?;
            check_fields(
                thinking,
                THINKING_CONFIG_FIELDS,
                "generation_config.thinking_config",
            )?;
            thinking_asked = Thinking {
                include_thoughts: field(thinking, "includeThoughts") == Some(&Value::Bool(true)),
                disabled: field(thinking, "thinkingBudget").and_then(Value::as_i64) == Some(0),
            };
        }
    }
    if let Some(settings) = field(object, "safetySettings") {
        let settings = settings
            .as_array()
            .ok_or_else(|| not_a_list("safety_settings"))?;
        for (i, setting) in settings.iter().enumerate() {
            let path = format!("safety_settings[{i}]");
            check_fields(as_object(setting, &path)?, SAFETY_SETTING_FIELDS, &path)?;
        }
    }
    let contents = match field(object, "contents") {
        None | Some(Value::Null) => return Err(semantic("contents: contents is not specified")),
        Some(Value::Array(contents)) if contents.is_empty() => {
            return Err(semantic("contents: contents is not specified"));
        }
        Some(Value::Array(contents)) => contents,
        Some(_) => return Err(not_a_list("contents")),
    };
    let mut last_user_text = String::new();
    for (i, content) in contents.iter().enumerate() {
        let path = format!("contents[{i}]");
        let content = as_object(content, &path)?;
        check_content(content, &path)?;
        match content.get("parts") {
            Some(Value::Array(parts)) if !parts.is_empty() => {}
            _ => {
                return Err(semantic(&format!(
                    "contents[{i}].parts: contents.parts must not be empty."
                )));
            }
        }
        match content.get("role").and_then(Value::as_str) {
            None | Some("") | Some("user") => {
                last_user_text.clear();
                collect_text(content, &mut last_user_text);
            }
            Some("model") | Some("function") => {}
            Some(other) => {
                return Err(semantic(&format!(
                    "contents[{i}].role: Please use a valid role: user, model. Got {other:?}."
                )));
            }
        }
        collect_text(content, &mut prompt);
    }
    Ok(GenerateRequest {
        body: body.clone(),
        last_user_text,
        prompt_text: prompt,
        thinking: thinking_asked,
    })
}

/// Looks a field up by its camelCase name or the snake_case proto name.
fn field<'a>(object: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    object.get(camel).or_else(|| object.get(&snake(camel)))
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn check_fields(
    object: &Map<String, Value>,
    known: &[&str],
    path: &str,
) -> Result<(), GeminiError> {
    for name in object.keys() {
        if !known.iter().any(|k| *k == name || snake(k) == *name) {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at '{path}'")
            };
            return Err(GeminiError::InvalidJsonPayload {
                field: path.to_owned(),
                message: format!(
                    "Invalid JSON payload received. Unknown name \"{name}\"{at}: Cannot find field."
                ),
            });
        }
    }
    Ok(())
}

fn check_content(content: &Map<String, Value>, path: &str) -> Result<(), GeminiError> {
    check_fields(content, CONTENT_FIELDS, path)?;
    if let Some(parts) = content.get("parts") {
        let parts = parts
            .as_array()
            .ok_or_else(|| not_a_list(&format!("{path}.parts")))?;
        for (i, part) in parts.iter().enumerate() {
            let part_path = format!("{path}.parts[{i}]");
            let part = as_object(part, &part_path)?;
            check_fields(part, PART_FIELDS, &part_path)?;
            if let Some(text) = part.get("text") {
                if !text.is_string() {
                    return Err(GeminiError::InvalidJsonPayload {
                        field: format!("{part_path}.text"),
                        message: format!(
                            "Invalid value at '{part_path}.text' (TYPE_STRING), {text}"
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

fn collect_text(content: &Map<String, Value>, out: &mut String) {
    let Some(Value::Array(parts)) = content.get("parts") else {
        return;
    };
    for part in parts {
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            out.push_str(text);
        }
    }
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, GeminiError> {
    value
        .as_object()
        .ok_or_else(|| GeminiError::InvalidJsonPayload {
            field: path.to_owned(),
            message: format!(
                "Invalid JSON payload received. Expected an object at '{path}', got {value}."
            ),
        })
}

fn not_a_list(path: &str) -> GeminiError {
    GeminiError::InvalidJsonPayload {
        field: path.to_owned(),
        message: format!("Invalid JSON payload received. Expected a list at '{path}'."),
    }
}

fn semantic(message: &str) -> GeminiError {
    GeminiError::InvalidArgument {
        message: format!("* GenerateContentRequest.{message}\n"),
    }
}

fn describe_json_error(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Eof => "Unexpected end of string.".into(),
        _ => format!(
            "Unexpected token.\n{} at line {} column {}",
            error,
            error.line(),
            error.column()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<GenerateRequest, GeminiError>) -> String {
        result.unwrap_err().error_object()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn accepts_camel_and_snake_case_and_extracts_the_last_user_turn() {
        let request = parse(br#"{"system_instruction":{"parts":[{"text":"Be a tutor."}]},
            "contents":[{"role":"user","parts":[{"text":"first"}]},{"role":"model","parts":[{"text":"answer"}]},
                        {"parts":[{"text":"second"},{"text":" part"}]}],
            "generationConfig":{"temperature":0.2,"thinking_config":{"thinkingBudget":0}}}"#)
        .unwrap();
        assert_eq!(request.last_user_text, "second part");
        assert_eq!(request.prompt_text, "Be a tutor.firstanswersecond part");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_path() {
        assert_eq!(
            message(parse(
                br#"{"contents":[{"parts":[{"text":"x","role":"user"}]}]}"#
            )),
            "Invalid JSON payload received. Unknown name \"role\" at 'contents[0].parts[0]': Cannot find field."
        );
        assert_eq!(
            message(parse(
                br#"{"contents":[{"parts":[{"text":"x"}]}],"temperature":1}"#
            )),
            "Invalid JSON payload received. Unknown name \"temperature\": Cannot find field."
        );
    }

    #[test]
    fn semantic_errors_use_the_generate_content_request_prefix() {
        assert_eq!(
            message(parse(br#"{"contents":[]}"#)),
            "* GenerateContentRequest.contents: contents is not specified\n"
        );
        assert_eq!(
            message(parse(br#"{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"user","parts":[]}]}"#)),
            "* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n"
        );
        assert!(parse(b"{\"contents\":").is_err());
        assert!(parse(b"[]").is_err());
    }
}
