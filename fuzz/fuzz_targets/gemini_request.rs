//! fake-gemini's request validation on any body: a request or Google's error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fake_gemini::request::parse(data);
});
