//! The reference client's SSE parser: any bytes, in any two pieces, give the same events (or fail
//! alike) as in one piece.
#![no_main]
use emulator::client::SseParser;
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let (a, b) = split::two(data);
    let whole = SseParser::new().feed(&[a, b].concat()).map_err(|e| e.to_string());
    let mut parser = SseParser::new();
    let split = parser.feed(a).and_then(|mut first| {
        first.extend(parser.feed(b)?);
        Ok(first)
    });
    let split = split.map_err(|e| e.to_string());
    assert_eq!(whole.is_ok(), split.is_ok());
    if let (Ok(whole), Ok(split)) = (whole, split) {
        assert_eq!(whole, split);
    }
});
