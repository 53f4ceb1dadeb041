//! The function's decoder of Gemini's SSE stream: any bytes, in any two pieces, give the same events
//! as in one piece.
#![no_main]
use chatbot_query::gemini::decoder::Decoder;
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let (a, b) = split::two(data);
    let mut one = Decoder::new();
    let mut whole = one.feed(&[a, b].concat());
    whole.extend(one.finish());
    let mut two = Decoder::new();
    let mut split = two.feed(a);
    split.extend(two.feed(b));
    split.extend(two.finish());
    assert_eq!(whole, split);
});
