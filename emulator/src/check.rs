//! `emulator check <dir>`: the gate before `terraform apply`. Reads the Terraform, lints the
//! cross-resource rules, builds the topology it describes, runs the canonical scenarios through a chain
//! configured from it (optionally with the artifact to deploy), and reports — failing on any problem.

use std::path::Path;

use serde::Serialize;

use crate::chain::{Chain, ChainConfig};
use crate::client::Client;
use crate::runtime::FunctionProcess;
use crate::scenarios::Outcome;
use crate::terraform::{self, Module, TfError, lint::Finding};

/// The gate's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The directory checked.
    pub dir: String,
    /// Every lint rule.
    pub rules: Vec<Finding>,
    /// Every scenario (empty when the Terraform could not be turned into a chain).
    pub scenarios: Vec<Outcome>,
    /// Errors that stopped the gate (unsupported constructs, missing values).
    pub errors: Vec<String>,
    /// Whether everything passed.
    pub passed: bool,
}

impl Report {
    /// The human form: one line per rule and scenario, the fix under each failure.
    pub fn render(&self) -> String {
        let mut out = format!("emulator check {}\n", self.dir);
        for error in &self.errors {
            out.push_str(&format!("ERROR {error}\n"));
        }
        for f in &self.rules {
            let mark = if f.passed { "pass" } else { "FAIL" };
            out.push_str(&format!(
                "{mark}  {:<26} {:<20} {}\n",
                f.rule, f.location, f.why
            ));
            if !f.passed {
                out.push_str(&format!("      fix: {}\n", f.fix));
            }
        }
        for s in &self.scenarios {
            let mark = if s.passed { "pass" } else { "FAIL" };
            let hop = s
                .hop
                .as_deref()
                .map(|h| format!(" (decided at {h})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{mark}  scenario {:<28}{hop} {}\n",
                s.name, s.detail
            ));
        }
        out.push_str(if self.passed {
            "check passed\n"
        } else {
            "check FAILED: do not apply\n"
        });
        out
    }
}

/// Runs the gate on `dir` with `-var` values, running `function` in the chain.
pub async fn run(dir: &Path, vars: &[(String, String)], function: FunctionProcess) -> Report {
    let mut report = Report {
        dir: dir.display().to_string(),
        rules: Vec::new(),
        scenarios: Vec::new(),
        errors: Vec::new(),
        passed: false,
    };
    let module = match Module::load(dir, vars) {
        Ok(module) => module,
        Err(error) => {
            report.errors.push(error.to_string());
            return report;
        }
    };
    match terraform::lint::lint(&module) {
        Ok(findings) => report.rules = findings,
        Err(error) => report.errors.push(error.to_string()),
    }
    match terraform::topology(&module) {
        Ok(topology) => report.scenarios = scenarios(topology, function).await,
        Err(TfError::Load(why)) if why.contains("no aws_lambda_function") => {
            report.errors.push(why)
        }
        Err(error) => report.errors.push(error.to_string()),
    }
    report.passed = report.errors.is_empty()
        && report.rules.iter().all(|f| f.passed)
        && !report.scenarios.is_empty()
        && report.scenarios.iter().all(|s| s.passed);
    report
}

async fn scenarios(topology: crate::topology::Topology, function: FunctionProcess) -> Vec<Outcome> {
    let mut config = ChainConfig::local(function);
    config.topology = topology;
    config.cognito.key_cache_dir = crate::chain::default_key_cache();
    // A short scripted answer: the gate judges behaviour, not the default answer's pacing.
    config.gemini.scenarios = vec![fake_gemini::Scenario::stream([
        "Start by ",
        "reading the constraints.",
    ])];
    let chain = match Chain::start(config).await {
        Ok(chain) => chain,
        Err(error) => {
            return vec![Outcome {
                name: "chain",
                passed: false,
                hop: None,
                detail: error.to_string(),
            }];
        }
    };
    let client = Client::new(
        chain.edge.url(),
        chain.cognito.url(),
        fake_cognito::config::DEFAULT_CLIENT_ID,
    );
    let mut outcomes = crate::scenarios::run_all(
        &client,
        fake_cognito::config::DEFAULT_USERNAME,
        fake_cognito::config::DEFAULT_PASSWORD,
    )
    .await;
    // The browser's view, from the first origin the Terraform allows.
    let origin = chain
        .topology
        .function_url
        .cors
        .as_ref()
        .and_then(|c| c.allow_origins.iter().find(|o| *o != "*").cloned());
    if let Some(origin) = origin {
        match client
            .sign_in(
                fake_cognito::config::DEFAULT_USERNAME,
                fake_cognito::config::DEFAULT_PASSWORD,
            )
            .await
        {
            Ok(tokens) => outcomes
                .extend(crate::scenarios::cors(&client, &tokens.access_token, &origin).await),
            Err(e) => outcomes.push(crate::scenarios::Outcome {
                name: "cors-preflight",
                passed: false,
                hop: None,
                detail: e.to_string(),
            }),
        }
    }
    chain.shutdown().await;
    outcomes
}
