//! `web/chatbot-client.js`'s own unit tests (`node --test`: the SSE parser re-split at every offset,
//! the request it sends, typed refusals, cancellation), run as part of `cargo test`.

#[tokio::test]
async fn the_browser_clients_unit_tests_pass_under_node() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new("node")
            .args(["--test", "tests/"])
            .current_dir(web)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node --test did not finish within 60 s")
    .expect("node runs (Debian: apt-get install nodejs)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("# fail 0"), "{report}");
}
