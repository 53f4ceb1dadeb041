//! CORS: a page on any origin signs in — preflights are answered, and every answer (errors too)
//! carries `access-control-allow-origin`; the preflights are recorded for tests.

use crate::support::start_real_time;

#[tokio::test]
async fn a_preflight_for_initiate_auth_is_answered_and_recorded() {
    let fake = start_real_time().await;
    let response = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/", fake.url))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,x-amz-user-agent",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(
        h["access-control-allow-headers"],
        "content-type,x-amz-target,x-amz-user-agent"
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let recorded: serde_json::Value = reqwest::get(format!("{}/__fake/preflights", fake.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded[0]["origin"], "http://localhost:5173");
    assert_eq!(
        recorded[0]["headers"],
        "content-type,x-amz-target,x-amz-user-agent"
    );
    assert_eq!(fake.handle.preflights().len(), 1);
}

#[tokio::test]
async fn every_answer_errors_included_carries_the_cors_headers() {
    let fake = start_real_time().await;
    let wrong = fake.sign_in("demo", "not-the-password").await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.headers["access-control-allow-origin"], "*");
    assert!(
        wrong.headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-amzn-ErrorType")
    );
    let jwks = fake
        .get("/us-east-1_LocalPool1/.well-known/jwks.json")
        .await;
    assert_eq!(jwks.headers["access-control-allow-origin"], "*");
}
