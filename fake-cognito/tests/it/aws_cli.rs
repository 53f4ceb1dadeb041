//! The AWS CLI, an independent client, signs in against the fake and creates users through it.

use std::process::{Command, Output};

use fake_cognito::config::{DEFAULT_CLIENT_ID, DEFAULT_PASSWORD, DEFAULT_POOL_ID};
use serde_json::Value;

use crate::support::{aws_cli, decode, start_real_time};

fn aws(endpoint: &str, args: &[&str]) -> Output {
    Command::new(aws_cli())
        .args([
            "cognito-idp",
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIDLOCALEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "local-secret")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the AWS CLI runs")
}

#[tokio::test]
async fn aws_cli_initiate_auth_returns_tokens_and_cognitos_error() {
    let fake = start_real_time().await;
    let url = fake.url.clone();
    let ok = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            aws(
                &url,
                &[
                    "initiate-auth",
                    "--client-id",
                    DEFAULT_CLIENT_ID,
                    "--auth-flow",
                    "USER_PASSWORD_AUTH",
                    "--auth-parameters",
                    &format!("USERNAME=demo,PASSWORD={DEFAULT_PASSWORD}"),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let body: Value = serde_json::from_slice(&ok.stdout).unwrap();
    let result = &body["AuthenticationResult"];
    assert_eq!(result["TokenType"], "Bearer");
    assert_eq!(result["ExpiresIn"], 3600);
    let (_, claims) = decode(result["AccessToken"].as_str().unwrap());
    assert_eq!(claims["client_id"], DEFAULT_CLIENT_ID);

    let wrong = tokio::task::spawn_blocking(move || {
        aws(
            &url,
            &[
                "initiate-auth",
                "--client-id",
                DEFAULT_CLIENT_ID,
                "--auth-flow",
                "USER_PASSWORD_AUTH",
                "--auth-parameters",
                "USERNAME=demo,PASSWORD=Wrong-passw0rd!",
            ],
        )
    })
    .await
    .unwrap();
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains(
            "An error occurred (NotAuthorizedException) when calling the InitiateAuth operation: Incorrect username or password."
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn aws_cli_admin_calls_create_a_user_who_can_sign_in() {
    let fake = start_real_time().await;
    let url = fake.url.clone();
    let outputs = tokio::task::spawn_blocking(move || {
        let create = aws(
            &url,
            &[
                "admin-create-user",
                "--user-pool-id",
                DEFAULT_POOL_ID,
                "--username",
                "erin",
                "--user-attributes",
                "Name=email,Value=erin@example.org",
            ],
        );
        let set = aws(
            &url,
            &[
                "admin-set-user-password",
                "--user-pool-id",
                DEFAULT_POOL_ID,
                "--username",
                "erin",
                "--password",
                "Erin-passw0rd!",
                "--permanent",
            ],
        );
        (create, set)
    })
    .await
    .unwrap();
    for output in [&outputs.0, &outputs.1] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let created: Value = serde_json::from_slice(&outputs.0.stdout).unwrap();
    assert_eq!(created["User"]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(fake.sign_in("erin", "Erin-passw0rd!").await.status, 200);
}
