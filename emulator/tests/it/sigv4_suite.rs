//! The SigV4 verifier against AWS's own v4 test suite (40 cases, header and presigned forms), against
//! requests signed by the `aws-sigv4` crate, and against every one-byte tampering.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use emulator::sigv4::compute::percent_decode;
use emulator::sigv4::verify::Request;
use emulator::sigv4::{Identity, SigV4Error, VerifyOptions, verify};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-sigv4-test-suite-v4")
}

/// One raw HTTP request from a suite file.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_raw(text: &[u8]) -> RawRequest {
    let text = String::from_utf8(text.to_vec()).unwrap();
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head.to_owned(), body.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n').to_owned(), Vec::new()),
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let rest = request_line
        .strip_suffix(" HTTP/1.1")
        .unwrap_or(request_line);
    let (method, target) = rest.split_once(' ').unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }
}

struct Case {
    name: String,
    dir: PathBuf,
    context: Value,
    /// The two cases migrated from the old suite have no context and sign the path as sent.
    crt: bool,
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let context_path = dir.join("context.json");
            let crt = context_path.exists();
            let context = if crt {
                serde_json::from_str(&std::fs::read_to_string(context_path).unwrap()).unwrap()
            } else {
                migrated_context(&dir)
            };
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir,
                context,
                crt,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The migrated cases carry no context: their scope and time come from the signed request, and the
/// secret is the test credential their access key names (smithy-rs's `Credentials::for_tests()` for
/// `ANOTREAL`, the suite's example key for `AKIDEXAMPLE`).
fn migrated_context(dir: &Path) -> Value {
    let raw = parse_raw(&std::fs::read(dir.join("header-signed-request.txt")).unwrap());
    let header = |name: &str| {
        raw.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap()
    };
    let authorization = header("authorization");
    let credential = authorization
        .split("Credential=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let parts: Vec<&str> = credential.split('/').collect();
    let secret = match parts[0] {
        "ANOTREAL" => "notrealrnrELgWzOk3IfjzDKtFBhDby",
        _ => "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    };
    let date = header("x-amz-date");
    let timestamp = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[0..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    serde_json::json!({
        "credentials": {"access_key_id": parts[0], "secret_access_key": secret},
        "region": parts[2], "service": parts[3], "timestamp": timestamp, "normalize": true
    })
}

fn timestamp(context: &Value) -> SystemTime {
    let text = context["timestamp"].as_str().unwrap();
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    SystemTime::from(parsed)
}

fn identity(context: &Value) -> Identity {
    let c = &context["credentials"];
    Identity {
        access_key_id: c["access_key_id"].as_str().unwrap().to_owned(),
        secret_access_key: c["secret_access_key"].as_str().unwrap().to_owned(),
        session_token: c["token"].as_str().map(str::to_owned),
    }
}

fn options(context: &Value) -> VerifyOptions {
    VerifyOptions {
        region: context["region"].as_str().unwrap().to_owned(),
        service: context["service"].as_str().unwrap().to_owned(),
        normalize_path: context["normalize"].as_bool().unwrap_or(true),
        max_skew: Duration::from_secs(300),
        allow_unsigned_payload: true,
    }
}

fn check(case: &Case, raw: &RawRequest) -> Result<emulator::sigv4::Verified, SigV4Error> {
    // The CRT suite's request files carry the path URL-encoded once; its signer saw it decoded.
    let path = if case.crt {
        percent_decode(&raw.path)
    } else {
        raw.path.clone().into_bytes()
    };
    let identity = identity(&case.context);
    verify(
        &Request {
            method: &raw.method,
            path: &path,
            query: &raw.query,
            headers: &raw.headers,
            body: &raw.body,
        },
        |akid| (akid == identity.access_key_id).then(|| identity.clone()),
        &options(&case.context),
        timestamp(&case.context),
    )
}

#[test]
fn all_forty_header_signed_cases_verify_with_the_suites_canonical_request() {
    let cases = cases();
    assert_eq!(cases.len(), 40);
    for case in &cases {
        let raw = parse_raw(&std::fs::read(case.dir.join("header-signed-request.txt")).unwrap());
        let verified = check(case, &raw).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let expected =
            std::fs::read_to_string(case.dir.join("header-canonical-request.txt")).unwrap();
        if case.crt {
            assert_eq!(verified.canonical_request, expected, "{}", case.name);
        } else {
            // The two migrated cases ship a canonical request from another signing time; everything
            // but the x-amz-date line (their point: the double-encoded path) must agree.
            let without_date = |text: &str| -> Vec<String> {
                text.lines()
                    .filter(|l| !l.starts_with("x-amz-date:"))
                    .map(str::to_owned)
                    .collect()
            };
            assert_eq!(
                without_date(&verified.canonical_request),
                without_date(&expected),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn the_presigned_forms_verify_too() {
    let mut checked = 0;
    for case in cases() {
        let file = case.dir.join("query-signed-request.txt");
        // `omit_session_token` cases add the token after presigning, which a server cannot accept
        // (the token is part of the signed query); the suite exercises signers there, not verifiers.
        if !file.exists() || case.context["omit_session_token"] == true {
            continue;
        }
        let raw = parse_raw(&std::fs::read(file).unwrap());
        check(&case, &raw).unwrap_or_else(|e| panic!("{} (query form): {e}", case.name));
        checked += 1;
    }
    assert!(checked >= 36, "{checked}");
}

fn vanilla() -> (Case, RawRequest) {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "post-x-www-form-urlencoded")
        .unwrap();
    let raw = parse_raw(&std::fs::read(case.dir.join("header-signed-request.txt")).unwrap());
    (case, raw)
}

#[test]
fn every_one_byte_tampering_is_refused() {
    let (case, raw) = vanilla();
    check(&case, &raw).unwrap();
    let flip = |b: u8| if b == b'#' { b'!' } else { b'#' };
    let mut tried = 0;
    for i in 0..raw.method.len() {
        let mut bytes = raw.method.clone().into_bytes();
        bytes[i] = flip(bytes[i]);
        let tampered = RawRequest {
            method: String::from_utf8(bytes).unwrap(),
            ..clone(&raw)
        };
        assert!(check(&case, &tampered).is_err(), "method byte {i}");
        tried += 1;
    }
    // ("/a/.." or "//" are not tamperings: they normalise to "/", on AWS too.)
    for path in ["/x", "/%2Fx", "/chatbot", "/%20"] {
        let tampered = RawRequest {
            path: path.to_owned(),
            ..clone(&raw)
        };
        assert!(check(&case, &tampered).is_err(), "path {path}");
        tried += 1;
    }
    let tampered = RawRequest {
        query: "a=b".into(),
        ..clone(&raw)
    };
    assert!(check(&case, &tampered).is_err());
    for (h, (name, value)) in raw.headers.iter().enumerate() {
        let signed = [
            "content-length",
            "content-type",
            "host",
            "x-amz-content-sha256",
            "x-amz-date",
        ];
        if !signed.contains(&name.to_ascii_lowercase().as_str())
            && !name.eq_ignore_ascii_case("authorization")
        {
            continue;
        }
        for i in 0..value.len() {
            let mut bytes = value.clone().into_bytes();
            if bytes[i] == b' ' || bytes[i] == b',' {
                continue; // whitespace is collapsed, commas separate Authorization parts
            }
            bytes[i] = flip(bytes[i]);
            let mut tampered = clone(&raw);
            tampered.headers[h].1 = String::from_utf8(bytes).unwrap();
            assert!(check(&case, &tampered).is_err(), "{name} byte {i}");
            tried += 1;
        }
    }
    for i in 0..raw.body.len() {
        let mut tampered = clone(&raw);
        tampered.body[i] = flip(tampered.body[i]);
        assert_eq!(
            check(&case, &tampered).unwrap_err(),
            SigV4Error::PayloadMismatch,
            "body byte {i}"
        );
        tried += 1;
    }
    assert!(tried > 300, "{tried}");
}

fn clone(raw: &RawRequest) -> RawRequest {
    RawRequest {
        method: raw.method.clone(),
        path: raw.path.clone(),
        query: raw.query.clone(),
        headers: raw.headers.clone(),
        body: raw.body.clone(),
    }
}

#[test]
fn the_clock_window_is_five_minutes_each_way() {
    let (case, raw) = vanilla();
    let at = timestamp(&case.context);
    let identity = identity(&case.context);
    let run = |now: SystemTime| {
        verify(
            &Request {
                method: &raw.method,
                path: raw.path.as_bytes(),
                query: &raw.query,
                headers: &raw.headers,
                body: &raw.body,
            },
            |_| Some(identity.clone()),
            &options(&case.context),
            now,
        )
    };
    assert!(run(at + Duration::from_secs(300)).is_ok());
    assert_eq!(
        run(at + Duration::from_secs(301)).unwrap_err().to_string(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"
    );
    assert!(matches!(
        run(at - Duration::from_secs(301)),
        Err(SigV4Error::NotYetCurrent { .. })
    ));
}

#[test]
fn unsigned_payloads_with_a_body_are_refused_when_the_service_says_so() {
    let (case, mut raw) = vanilla();
    for header in raw.headers.iter_mut() {
        if header.0.eq_ignore_ascii_case("x-amz-content-sha256") {
            header.1 = "UNSIGNED-PAYLOAD".into();
        }
    }
    let identity = identity(&case.context);
    let mut strict = options(&case.context);
    strict.allow_unsigned_payload = false;
    let result = verify(
        &Request {
            method: &raw.method,
            path: raw.path.as_bytes(),
            query: &raw.query,
            headers: &raw.headers,
            body: &raw.body,
        },
        |_| Some(identity.clone()),
        &strict,
        timestamp(&case.context),
    );
    assert_eq!(result.unwrap_err(), SigV4Error::PayloadMismatch);
}

#[test]
fn requests_signed_by_the_aws_sigv4_crate_verify() {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let now = SystemTime::now();
    let body = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
    for (path, query, token) in [
        ("/chatbot", "", None),
        ("/chatbot/a%3Db/../c", "b=2&a=%E1%88%B4", None),
        ("/chatbot", "x=1", Some("session-token-value")),
    ] {
        let url = if query.is_empty() {
            format!("https://abc.lambda-url.us-east-1.on.aws{path}")
        } else {
            format!("https://abc.lambda-url.us-east-1.on.aws{path}?{query}")
        };
        let identity = Credentials::new(
            "AKIDSIGNER",
            "signer/secret+key",
            token.map(str::to_owned),
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("lambda")
            .time(now)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [
            ("host", "abc.lambda-url.us-east-1.on.aws"),
            ("content-type", "application/json"),
        ];
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = http::Request::builder().method("POST").uri(&url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let mut request = request.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut request);
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let raw_path = request.uri().path().to_owned();
        let raw_query = request.uri().query().unwrap_or("").to_owned();
        let expected = Identity {
            access_key_id: "AKIDSIGNER".into(),
            secret_access_key: "signer/secret+key".into(),
            session_token: token.map(str::to_owned),
        };
        let options = VerifyOptions {
            region: "us-east-1".into(),
            service: "lambda".into(),
            normalize_path: true,
            max_skew: Duration::from_secs(300),
            allow_unsigned_payload: false,
        };
        let result = verify(
            &Request {
                method: "POST",
                path: raw_path.as_bytes(),
                query: &raw_query,
                headers: &headers,
                body,
            },
            |akid| (akid == "AKIDSIGNER").then(|| expected.clone()),
            &options,
            now,
        );
        assert!(result.is_ok(), "{path}?{query}: {result:?}");
        let wrong_secret = verify(
            &Request {
                method: "POST",
                path: raw_path.as_bytes(),
                query: &raw_query,
                headers: &headers,
                body,
            },
            |_| {
                Some(Identity {
                    secret_access_key: "other".into(),
                    ..expected.clone()
                })
            },
            &options,
            now,
        );
        assert_eq!(wrong_secret.unwrap_err(), SigV4Error::SignatureMismatch);
    }
}
