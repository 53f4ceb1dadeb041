//! fake-cognito's request parsing: the `x-amz-target` envelope and the JSON body, from any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let (target, body) = split::two(data);
    let target = String::from_utf8_lossy(target);
    let target = (!target.is_empty()).then_some(target.as_ref());
    if let Ok((operation, request)) = fake_cognito::api::parse_call(target, body) {
        assert!(request.is_object());
        assert!(!operation.is_empty() || target == Some("AWSCognitoIdentityProviderService."));
    }
});
