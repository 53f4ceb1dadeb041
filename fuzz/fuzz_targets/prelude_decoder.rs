//! The Runtime API's streaming-prelude decoder: any bytes, in any two pieces, give the same prelude
//! and body as in one piece, or the same error — and never a panic.
#![no_main]
use emulator::runtime::prelude::{Decoded, PreludeDecoder};
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fn decode(pieces: &[&[u8]]) -> Result<(Option<emulator::runtime::Prelude>, Vec<u8>), String> {
    let mut decoder = PreludeDecoder::new();
    let (mut prelude, mut body) = (None, Vec::new());
    for piece in pieces {
        for item in decoder
            .feed(piece.to_vec().into())
            .map_err(|e| e.to_string())?
        {
            match item {
                Decoded::Prelude(p) => prelude = Some(p),
                Decoded::Body(b) => body.extend_from_slice(&b),
            }
        }
    }
    decoder.finish().map_err(|e| e.to_string())?;
    Ok((prelude, body))
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = split::two(data);
    let whole = [a, b].concat();
    let one = decode(&[&whole]);
    let two = decode(&[a, b]);
    assert_eq!(one.is_ok(), two.is_ok(), "{one:?} vs {two:?}");
    if let (Ok(one), Ok(two)) = (one, two) {
        assert_eq!(one, two);
    }
});
