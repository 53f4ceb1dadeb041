//! `emulator check`: the shipped Terraform passes (also copied outside the repo), its topology is the
//! embedded default, and for every lint rule a copy broken in that one way fails with that rule's
//! explanation. Unsupported constructs are reported with file:line.

use std::path::{Path, PathBuf};

use emulator::terraform::{self, Module};

use crate::support::real_function;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infrastructure/chatbot")
}

/// A copy of the shipped Terraform outside the repository.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(shipped()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "tf") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn mutate(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[tokio::test]
async fn the_shipped_terraform_passes_the_gate_even_outside_the_repo() {
    let dir = copy();
    let report = emulator::check::run(dir.path(), &[], real_function()).await;
    assert!(report.passed, "{}", report.render());
    assert_eq!(report.rules.len(), 13);
    assert_eq!(report.scenarios.len(), 5);
}

#[test]
fn the_terraforms_topology_is_the_emulators_embedded_default() {
    let module = Module::load(&shipped(), &[]).unwrap();
    assert_eq!(
        terraform::topology(&module).unwrap(),
        emulator::Topology::default()
    );
}

#[tokio::test]
async fn each_rule_fails_on_a_copy_broken_in_that_one_way() {
    let cases: [(&str, &str, &str, &str); 13] = [
        (
            "url-auth-iam",
            "lambda.tf",
            "authorization_type = \"AWS_IAM\"",
            "authorization_type = \"NONE\"",
        ),
        (
            "invoke-mode-stream",
            "lambda.tf",
            "invoke_mode        = \"RESPONSE_STREAM\"",
            "invoke_mode        = \"BUFFERED\"",
        ),
        (
            "oac-origin-type-lambda",
            "cloudfront.tf",
            "origin_access_control_origin_type = \"lambda\"",
            "origin_access_control_origin_type = \"s3\"",
        ),
        (
            "oac-signing-always",
            "cloudfront.tf",
            "signing_behavior                  = \"always\"",
            "signing_behavior                  = \"no-override\"",
        ),
        (
            "grant-invoke-function-url",
            "cloudfront.tf",
            "source_arn             = aws_cloudfront_distribution.chatbot.arn",
            "source_arn             = \"arn:aws:cloudfront::123456789012:distribution/EOTHER000000001\"",
        ),
        (
            "grant-invoke-function",
            "cloudfront.tf",
            "action                   = \"lambda:InvokeFunction\"",
            "action                   = \"lambda:GetFunction\"",
        ),
        (
            "methods-allowed",
            "cloudfront.tf",
            "allowed_methods          = [\"DELETE\", \"GET\", \"HEAD\", \"OPTIONS\", \"PATCH\", \"POST\", \"PUT\"]",
            "allowed_methods          = [\"GET\", \"HEAD\"]",
        ),
        (
            "origin-request-no-host",
            "cloudfront.tf",
            "name = \"Managed-AllViewerExceptHostHeader\"",
            "name = \"Managed-AllViewer\"",
        ),
        (
            "caching-disabled",
            "cloudfront.tf",
            "name = \"Managed-CachingDisabled\"",
            "name = \"Managed-CachingOptimized\"",
        ),
        (
            "origin-read-timeout",
            "cloudfront.tf",
            "origin_read_timeout      = 30",
            "origin_read_timeout      = 5",
        ),
        (
            "viewer-https",
            "cloudfront.tf",
            "viewer_protocol_policy   = \"redirect-to-https\"",
            "viewer_protocol_policy   = \"allow-all\"",
        ),
        (
            "origin-is-function-url",
            "cloudfront.tf",
            "domain_name              = local.function_url_domain",
            "domain_name              = \"example.com\"",
        ),
        (
            "function-env",
            "lambda.tf",
            "GEMINI_MODEL             = var.gemini_model",
            "GEMINI_MODEL             = var.gemini_model\n      GEMINI_BASE_URL          = \"http://127.0.0.1:9300\"",
        ),
    ];
    for (rule, file, from, to) in cases {
        let dir = copy();
        mutate(dir.path(), file, from, to);
        let report = emulator::check::run(dir.path(), &[], real_function()).await;
        assert!(!report.passed, "{rule}: the gate passed a broken copy");
        let failed: Vec<&str> = report
            .rules
            .iter()
            .filter(|f| !f.passed)
            .map(|f| f.rule)
            .collect();
        assert!(
            failed.contains(&rule),
            "{rule}: failed rules were {failed:?}\n{}",
            report.render()
        );
        let finding = report.rules.iter().find(|f| f.rule == rule).unwrap();
        assert!(
            finding.location.starts_with(file),
            "{rule}: located at {}",
            finding.location
        );
        assert!(!finding.fix.is_empty());
        assert!(
            report.render().contains(&format!("FAIL  {rule}")),
            "{}",
            report.render()
        );
    }
}

#[tokio::test]
async fn a_broken_grant_also_fails_the_scenarios() {
    let dir = copy();
    mutate(
        dir.path(),
        "cloudfront.tf",
        "action                   = \"lambda:InvokeFunction\"",
        "action                   = \"lambda:GetFunction\"",
    );
    let report = emulator::check::run(dir.path(), &[], real_function()).await;
    let happy = report
        .scenarios
        .iter()
        .find(|s| s.name == "happy-path")
        .unwrap();
    assert!(!happy.passed);
    assert_eq!(happy.hop.as_deref(), Some("policy"), "{happy:?}");
}

#[test]
fn unsupported_constructs_are_reported_with_their_location() {
    let dir = copy();
    mutate(
        dir.path(),
        "lambda.tf",
        "resource \"aws_lambda_function\" \"chatbot\" {",
        "resource \"aws_lambda_function\" \"chatbot\" {\n  for_each = toset([\"a\"])",
    );
    let error = Module::load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        error.starts_with("lambda.tf:")
            && error.contains("unsupported: for_each on aws_lambda_function.chatbot"),
        "{error}"
    );

    let dir = copy();
    mutate(
        dir.path(),
        "lambda.tf",
        "memory_size                    = var.memory_size",
        "memory_size                    = max(var.memory_size, 512)",
    );
    let module = Module::load(dir.path(), &[]).unwrap();
    let error = terraform::topology(&module).unwrap_err().to_string();
    assert!(
        error.contains("lambda.tf:") && error.contains("unsupported: function max()"),
        "{error}"
    );
}

#[test]
fn variables_come_from_tfvars_and_dash_var() {
    let dir = copy();
    std::fs::write(dir.path().join("terraform.tfvars"), "memory_size = 512\n").unwrap();
    let module = Module::load(dir.path(), &[("timeout".into(), "30".into())]).unwrap();
    let topology = terraform::topology(&module).unwrap();
    assert_eq!(
        (topology.function.memory_mb, topology.function.timeout_s),
        (512, 30)
    );
}
