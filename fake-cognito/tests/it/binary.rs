//! The `fake-cognito` executable: starts, says what it serves, serves it, and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_endpoints_serves_jwks_and_exits_on_sigterm() {
    let key_cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-cognito"))
        .args(["--addr", "127.0.0.1:0"])
        .arg("--key-cache-dir")
        .arg(key_cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("fake-cognito listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let mut rest = Vec::new();
    for _ in 0..8 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        rest.push(line);
    }
    let printed = rest.concat();
    assert!(printed.contains("pool us-east-1_LocalPool1  issuer https://cognito-idp.us-east-1.amazonaws.com/us-east-1_LocalPool1"), "{printed}");
    assert!(
        printed.contains("user    demo / Demo-passw0rd!"),
        "{printed}"
    );
    assert!(
        printed.contains("aws cognito-idp initiate-auth"),
        "{printed}"
    );

    let jwks = reqwest::get(format!("{url}/us-east-1_LocalPool1/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    assert_eq!(
        std::fs::read_dir(key_cache.path()).unwrap().count(),
        2,
        "both generated keys are cached"
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test]
async fn a_pool_with_users_but_no_client_starts_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(
        &config,
        "[[pool]]\nid = \"us-east-1_NoClient\"\n[[pool.user]]\nusername = \"alice\"\npassword = \"Alice-passw0rd!\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-cognito"))
        .args(["--addr", "127.0.0.1:0"])
        .arg("--config")
        .arg(&config)
        .arg("--key-cache-dir")
        .arg(dir.path().join("keys"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    for _ in 0..4 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        printed.push_str(&line);
    }
    assert!(
        printed.contains("user    alice / Alice-passw0rd!"),
        "{printed}"
    );
    let url = printed
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("fake-cognito listening on "))
        .unwrap()
        .to_owned();
    let jwks = reqwest::get(format!("{url}/us-east-1_NoClient/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200, "still serving after printing");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
