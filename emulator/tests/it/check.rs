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

/// The one variable without a default: the site's origins (here the dev origins the embedded default
/// allows).
fn vars() -> Vec<(String, String)> {
    vec![(
        "allowed_origins".into(),
        r#"["http://localhost:5173", "http://127.0.0.1:5173"]"#.into(),
    )]
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
    let report = emulator::check::run(dir.path(), &vars(), real_function()).await;
    assert!(report.passed, "{}", report.render());
    assert_eq!(report.rules.len(), 18);
    assert_eq!(report.scenarios.len(), 7);
}

#[tokio::test]
async fn the_site_origins_have_no_default_and_say_how_to_give_them() {
    let report = emulator::check::run(&shipped(), &[], real_function()).await;
    assert!(!report.passed);
    assert!(
        report.errors.iter().any(|e| e.contains(
            "variable allowed_origins has no value: give it a default, set it in terraform.tfvars, or pass --var allowed_origins="
        )),
        "{}",
        report.render()
    );
}

#[test]
fn the_terraforms_topology_is_the_emulators_embedded_default() {
    let module = Module::load(&shipped(), &vars()).unwrap();
    assert_eq!(
        terraform::topology(&module).unwrap(),
        emulator::Topology::default()
    );
}

#[tokio::test]
async fn each_rule_fails_on_a_copy_broken_in_that_one_way() {
    let cases: [(&str, &str, &str, &str); 18] = [
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
            "allowed_methods            = [\"DELETE\", \"GET\", \"HEAD\", \"OPTIONS\", \"PATCH\", \"POST\", \"PUT\"]",
            "allowed_methods            = [\"GET\", \"HEAD\"]",
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
            "viewer_protocol_policy     = \"redirect-to-https\"",
            "viewer_protocol_policy     = \"allow-all\"",
        ),
        (
            "origin-is-function-url",
            "cloudfront.tf",
            "domain_name              = local.function_url_domain",
            "domain_name              = \"example.com\"",
        ),
        (
            "cors-present",
            "lambda.tf",
            "  cors {",
            "  dynamic_cors_removed {",
        ),
        (
            "cors-allows-client",
            "lambda.tf",
            "allow_headers = [\"content-type\", \"x-amz-content-sha256\", \"x-chatbot-authorization\"]",
            "allow_headers = [\"content-type\", \"x-chatbot-authorization\"]",
        ),
        (
            "cors-origins",
            "lambda.tf",
            "allow_origins = var.allowed_origins",
            "allow_origins = [\"*\"]",
        ),
        (
            "cors-one-layer",
            "cloudfront.tf",
            "  security_headers_config {",
            "  cors_config {\n    access_control_allow_credentials = false\n    origin_override = true\n    access_control_allow_origins {\n      items = [\"http://localhost:5173\"]\n    }\n    access_control_allow_methods {\n      items = [\"POST\"]\n    }\n    access_control_allow_headers {\n      items = [\"content-type\"]\n    }\n  }\n\n  security_headers_config {",
        ),
        (
            "permission-auth-type-scope",
            "cloudfront.tf",
            "  invoked_via_function_url = true",
            "  invoked_via_function_url = true\n  function_url_auth_type   = \"AWS_IAM\"",
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
        let report = emulator::check::run(dir.path(), &vars(), real_function()).await;
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
        let finding = report
            .rules
            .iter()
            .find(|f| f.rule == rule && !f.passed)
            .unwrap();
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
    let report = emulator::check::run(dir.path(), &vars(), real_function()).await;
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
    let module = Module::load(dir.path(), &vars()).unwrap();
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
    let mut vars = vars();
    vars.push(("timeout".into(), "30".into()));
    let module = Module::load(dir.path(), &vars).unwrap();
    let topology = terraform::topology(&module).unwrap();
    assert_eq!(
        (topology.function.memory_mb, topology.function.timeout_s),
        (512, 30)
    );
}

#[tokio::test]
async fn a_function_that_sets_its_own_cors_headers_fails_the_gate() {
    let dir = copy();
    mutate(
        dir.path(),
        "lambda.tf",
        "GEMINI_MODEL             = var.gemini_model",
        "GEMINI_MODEL             = var.gemini_model\n      BEHAVIOUR                = \"cors\"",
    );
    let report =
        emulator::check::run(dir.path(), &vars(), emulator::testing::scripted_function()).await;
    assert!(!report.passed);
    let one_header = report
        .scenarios
        .iter()
        .find(|s| s.name == "cors-one-header")
        .unwrap();
    assert!(!one_header.passed, "{one_header:?}");
    assert!(
        one_header
            .detail
            .contains("access-control-allow-origin 2 time(s)")
            && one_header
                .detail
                .contains("remove them, the function URL adds them"),
        "{one_header:?}"
    );
}
