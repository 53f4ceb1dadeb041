//! `emulator`: the chain's command-line entry point.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use emulator::runtime::{FunctionProcess, FunctionResponse, Logs};
use emulator::{Invoker, InvokerConfig, Topology};
use futures_util::StreamExt as _;

/// The chatbot chain, offline.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one event through an execution environment, as Lambda would, and prints the response
    /// (prelude on stderr, body on stdout as it streams) and the REPORT line.
    Invoke {
        /// The event JSON (a Function URL payload v2.0 event).
        #[arg(long)]
        event: PathBuf,
        /// Topology TOML (default: the embedded chain).
        #[arg(long)]
        topology: Option<PathBuf>,
        /// A built `bootstrap` to run instead of the emulator's own copy of chatbot-query.
        #[arg(long)]
        function_binary: Option<PathBuf>,
        /// Extra variables laid over the function's environment (KEY=VALUE), e.g. GEMINI_BASE_URL.
        #[arg(long = "env", value_parser = parse_pair)]
        overlay: Vec<(String, String)>,
    },
    /// Runs `chatbot-query` under the Lambda Runtime API named by `AWS_LAMBDA_RUNTIME_API` (what each
    /// execution environment starts; the same code as the `bootstrap` binary).
    #[command(hide = true)]
    Function,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Function => runtime
            .block_on(chatbot_query::runtime::run())
            .map_err(|e| anyhow::anyhow!(e)),
        Command::Invoke {
            event,
            topology,
            function_binary,
            overlay,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "lambda=info,emulator=info".into()),
                )
                .with_target(false)
                .without_time()
                .with_writer(std::io::stderr)
                .init();
            runtime.block_on(invoke(event, topology, function_binary, overlay))
        }
    }
}

/// The function process: a given `bootstrap`, or this executable's hidden `function` mode.
fn function_process(function_binary: Option<PathBuf>) -> anyhow::Result<FunctionProcess> {
    Ok(match function_binary {
        Some(program) => FunctionProcess {
            program,
            args: Vec::new(),
            logs: Logs::Inherit,
        },
        None => FunctionProcess {
            program: std::env::current_exe().context("locating the emulator executable")?,
            args: vec!["function".into()],
            logs: Logs::Inherit,
        },
    })
}

async fn invoke(
    event: PathBuf,
    topology: Option<PathBuf>,
    function_binary: Option<PathBuf>,
    overlay: Vec<(String, String)>,
) -> anyhow::Result<()> {
    let event = std::fs::read(&event).with_context(|| format!("reading {}", event.display()))?;
    let topology = match topology {
        Some(path) => Topology::from_toml_file(&path)?,
        None => Topology::default(),
    };
    let invoker = Invoker::new(InvokerConfig {
        topology,
        process: function_process(function_binary)?,
        overlay: overlay.into_iter().collect::<BTreeMap<_, _>>(),
    });
    let result = invoker.invoke(event.into()).await;
    let outcome = match result {
        Err(error) => Err(anyhow::anyhow!("invocation failed: {error}")),
        Ok(invocation) => {
            let mut stdout = std::io::stdout();
            match invocation.response {
                FunctionResponse::Buffered {
                    status,
                    headers,
                    body,
                    ..
                } => {
                    eprintln!("status {status} (buffered) {headers:?}");
                    stdout.write_all(&body)?;
                    Ok(())
                }
                FunctionResponse::Streaming { prelude, mut body } => {
                    eprintln!(
                        "status {} (streaming) {:?}",
                        prelude.status, prelude.headers
                    );
                    let mut fault = None;
                    while let Some(item) = body.next().await {
                        match item {
                            Ok(bytes) => {
                                stdout.write_all(&bytes)?;
                                stdout.flush()?;
                            }
                            Err(f) => fault = Some(f),
                        }
                    }
                    fault.map_or(Ok(()), |f| {
                        Err(anyhow::anyhow!("the stream ended early: {f}"))
                    })
                }
            }
        }
    };
    invoker.wait_until_idle().await;
    invoker.shutdown().await;
    outcome
}
