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
    assert_eq!(report.rules.len(), 20);
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
    let cases: [(&str, &str, &str, &str); 20] = [
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
            "allowed-methods-set",
            "cloudfront.tf",
            "allowed_methods            = [\"DELETE\", \"GET\", \"HEAD\", \"OPTIONS\", \"PATCH\", \"POST\", \"PUT\"]",
            "allowed_methods            = [\"GET\", \"HEAD\", \"OPTIONS\", \"POST\"]",
        ),
        (
            "error-pages-keep-refusals",
            "cloudfront.tf",
            "  restrictions {",
            "  custom_error_response {\n    error_code            = 404\n    error_caching_min_ttl = 10\n  }\n\n  custom_error_response {\n    error_code         = 403\n    response_code      = 200\n    response_page_path = \"/index.html\"\n  }\n\n  restrictions {",
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

/// A module read from one `main.tf`, with no variables.
fn module_of(main_tf: &str) -> Result<Module, terraform::TfError> {
    Module::from_sources(
        Path::new("cycle"),
        &[("main.tf".to_owned(), main_tf.to_owned())],
        &[],
        &[],
    )
}

#[test]
fn a_value_that_depends_on_itself_is_a_cycle_with_its_location_not_a_stack_overflow() {
    // Found by the terraform_reader fuzz target: each of these recursed until the process died.
    let local = module_of("locals {\n  memory = local.memory\n}\nresource \"aws_lambda_function\" \"chatbot\" {\n  function_name = \"chatbot-query\"\n  memory_size = local.memory\n}\n").unwrap();
    let error = terraform::topology(&local).unwrap_err().to_string();
    assert!(
        error.starts_with("main.tf:") && error.contains("Cycle: local.memory → local.memory"),
        "{error}"
    );

    let resources = module_of(
        "resource \"aws_lambda_function\" \"chatbot\" {\n  function_name = aws_lambda_function_url.chatbot.function_name\n}\nresource \"aws_lambda_function_url\" \"chatbot\" {\n  function_name = aws_lambda_function.chatbot.function_name\n  authorization_type = \"AWS_IAM\"\n}\n",
    )
    .unwrap();
    let error = terraform::topology(&resources).unwrap_err().to_string();
    assert!(
        error.contains(
            "Cycle: aws_lambda_function_url.chatbot.function_name → aws_lambda_function.chatbot.function_name → aws_lambda_function_url.chatbot.function_name"
        ) || error.contains(
            "Cycle: aws_lambda_function.chatbot.function_name → aws_lambda_function_url.chatbot.function_name → aws_lambda_function.chatbot.function_name"
        ),
        "{error}"
    );

    // A long chain without a cycle is refused past the bound, not followed off the stack.
    let mut chain = String::from("locals {\n  l0 = 128\n");
    for i in 1..200 {
        chain.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    chain.push_str("}\nresource \"aws_lambda_function\" \"chatbot\" {\n  function_name = \"chatbot-query\"\n  memory_size = local.l199\n}\n");
    let error = terraform::topology(&module_of(&chain).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("references chained more than 64 deep"),
        "{error}"
    );
}

#[test]
fn deeply_nested_expressions_are_refused_or_read_never_overflow() {
    for (open, close) in [("[", "]"), ("(", ")")] {
        let nested = format!(
            "locals {{\n  deep = {}1{}\n}}\n",
            open.repeat(5_000),
            close.repeat(5_000)
        );
        if let Ok(module) = module_of(&nested) {
            let _ = terraform::topology(&module);
        }
    }
}

#[tokio::test]
async fn custom_error_responses_are_read_from_the_terraform_and_refused_where_written() {
    let blocks = "  custom_error_response {\n    error_code            = 404\n    error_caching_min_ttl = 10\n  }\n\n  custom_error_response {\n    error_code         = 403\n    response_code      = \"200\"\n    response_page_path = \"/index.html\"\n  }\n\n  restrictions {";
    let dir = copy();
    mutate(dir.path(), "cloudfront.tf", "  restrictions {", blocks);
    let text = std::fs::read_to_string(dir.path().join("cloudfront.tf")).unwrap();
    let second_block = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "custom_error_response {")
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    let module = Module::load(dir.path(), &vars()).unwrap();
    let topology = terraform::topology(&module).unwrap();
    assert_eq!(
        topology.distribution.custom_error_responses,
        [
            emulator::topology::CustomErrorResponse {
                error_code: 404,
                response_code: None,
                response_page_path: None,
                error_caching_min_ttl_s: Some(10),
            },
            emulator::topology::CustomErrorResponse {
                error_code: 403,
                response_code: Some(200),
                response_page_path: Some("/index.html".into()),
                error_caching_min_ttl_s: None,
            },
        ]
    );
    let findings = terraform::lint::lint(&module).unwrap();
    let masking = findings
        .iter()
        .find(|f| f.rule == "error-pages-keep-refusals")
        .unwrap();
    assert!(!masking.passed);
    assert_eq!(masking.location, format!("cloudfront.tf:{second_block}"));
    assert!(
        masking.why.contains("maps 403 to 200 /index.html"),
        "{masking:?}"
    );

    // 401 is not a status CloudFront caches, so AWS refuses a custom error response for it.
    let dir = copy();
    mutate(
        dir.path(),
        "cloudfront.tf",
        "  restrictions {",
        "  custom_error_response {\n    error_code         = 401\n    response_code      = 200\n    response_page_path = \"/index.html\"\n  }\n\n  restrictions {",
    );
    let report = emulator::check::run(dir.path(), &vars(), real_function()).await;
    assert!(!report.passed);
    assert!(
        report.errors.iter().any(|e| e.starts_with("cloudfront.tf:")
            && e.contains("error_code 401 is not one CloudFront caches")),
        "{}",
        report.render()
    );
}

#[tokio::test]
async fn an_allowed_methods_set_cloudfront_refuses_is_reported_where_it_is_written() {
    let dir = copy();
    mutate(
        dir.path(),
        "cloudfront.tf",
        "allowed_methods            = [\"DELETE\", \"GET\", \"HEAD\", \"OPTIONS\", \"PATCH\", \"POST\", \"PUT\"]",
        "allowed_methods            = [\"GET\", \"HEAD\", \"OPTIONS\", \"POST\"]",
    );
    let text = std::fs::read_to_string(dir.path().join("cloudfront.tf")).unwrap();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("allowed_methods"))
        .unwrap()
        + 1;
    let report = emulator::check::run(dir.path(), &vars(), real_function()).await;
    let set = report
        .rules
        .iter()
        .find(|f| f.rule == "allowed-methods-set")
        .unwrap();
    assert!(!set.passed);
    assert!(
        set.why.contains("refuses any other set at apply"),
        "{set:?}"
    );
    assert_eq!(set.location, format!("cloudfront.tf:{line}"));
    // POST and OPTIONS are there, so only the set rule can explain the failure.
    assert!(
        report
            .rules
            .iter()
            .any(|f| f.rule == "methods-allowed" && f.passed)
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.starts_with(&format!("cloudfront.tf:{line}: allowed_methods"))),
        "{}",
        report.render()
    );
}
