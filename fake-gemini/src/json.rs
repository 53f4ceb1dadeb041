//! Google's JSON spelling. Stream chunks are one line with `"key": value` (a space after each colon,
//! none after commas) and `<`/`>` escaped as `\u003c`/`\u003e`; error bodies are pretty-printed with two
//! spaces and end with a newline (`reference/gemini.md` §2.3, §4.1).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter, Serializer};

/// The one-line form of a stream chunk.
pub fn compact<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, GoogleCompact);
    value
        .serialize(&mut serializer)
        .expect("serialising JSON values to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// The pretty form of an error body, with its trailing newline.
pub fn pretty<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, GooglePretty(PrettyFormatter::new()));
    value
        .serialize(&mut serializer)
        .expect("serialising JSON values to memory cannot fail");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

struct GoogleCompact;

impl Formatter for GoogleCompact {
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_escaping_angles(writer, fragment)
    }
}

struct GooglePretty<'a>(PrettyFormatter<'a>);

impl Formatter for GooglePretty<'_> {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        f: &str,
    ) -> io::Result<()> {
        write_escaping_angles(w, f)
    }
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        e: CharEscape,
    ) -> io::Result<()> {
        self.0.write_char_escape(w, e)
    }
}

fn write_escaping_angles<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let mut rest = fragment;
    while let Some(at) = rest.find(['<', '>']) {
        writer.write_all(&rest.as_bytes()[..at])?;
        writer.write_all(if rest.as_bytes()[at] == b'<' {
            b"\\u003c"
        } else {
            b"\\u003e"
        })?;
        rest = &rest[at + 1..];
    }
    writer.write_all(rest.as_bytes())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn compact_matches_googles_spacing_and_escapes() {
        let value = json!({"candidates": [{"content": {"parts": [{"text": "a<b> we'll"}], "role": "model"}}], "n": 1});
        assert_eq!(
            compact(&value),
            r#"{"candidates": [{"content": {"parts": [{"text": "a\u003cb\u003e we'll"}],"role": "model"}}],"n": 1}"#
        );
    }

    #[test]
    fn pretty_uses_two_spaces_and_a_trailing_newline() {
        let value = json!({"error": {"code": 503, "status": "UNAVAILABLE"}});
        assert_eq!(
            pretty(&value),
            "{\n  \"error\": {\n    \"code\": 503,\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n"
        );
    }
}
