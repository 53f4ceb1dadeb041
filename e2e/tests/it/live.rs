//! The same fault-free scenarios against a deployed distribution, when `E2E_TARGET_URL`,
//! `E2E_COGNITO_REGION`, `E2E_USER_POOL_ID`, `E2E_CLIENT_ID`, `E2E_USERNAME` and `E2E_PASSWORD` are set;
//! otherwise skipped with one printed line saying why.

#[tokio::test]
async fn live_deployment_passes_the_canonical_scenarios() {
    let target = match e2e::live_target() {
        Ok(target) => target,
        Err(why) => {
            println!("{why}");
            return;
        }
    };
    let client = emulator::client::Client::new(&target.url, &target.cognito_url, &target.client_id);
    let outcomes = emulator::scenarios::run_all(&client, &target.username, &target.password).await;
    // A deployment has no emulator traces, so refusals are judged by status alone there.
    for outcome in &outcomes {
        match outcome.name {
            "happy-path" => assert!(outcome.passed, "{outcome:?}"),
            "jwt-in-authorization-header" | "no-token" => {
                assert!(outcome.detail.starts_with("401:"), "{outcome:?}")
            }
            "missing-body-hash" | "wrong-body-hash" => {
                assert!(outcome.detail.starts_with("403:"), "{outcome:?}")
            }
            _ => {}
        }
    }
}
