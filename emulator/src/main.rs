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
    /// Starts the whole chain — CloudFront edge, Function URL, Runtime API with the real function,
    /// fake Cognito and Gemini, SSM — and prints what to do next.
    Up(Box<UpArgs>),
    /// The gate before `terraform apply`: reads the Terraform in DIR, lints the cross-resource rules,
    /// runs the canonical scenarios through a chain configured from it, and exits non-zero on any failure.
    Check(CheckArgs),
    /// The reference client: signs in, hashes the body, sends the token in x-chatbot-authorization,
    /// POSTs to the edge and streams the answer; on a refusal, prints which hop refused and why.
    Chat(ChatArgs),
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
    /// Exits 0 when the chain `up --ready-file FILE` started is ready: FILE exists and every listener
    /// named in it accepts a connection (the container image's health check).
    Health {
        /// The file `up --ready-file` wrote.
        #[arg(
            long,
            env = "EMULATOR_READY_FILE",
            default_value = "/tmp/chatbot-chain.json"
        )]
        ready_file: PathBuf,
    },
    /// Runs `chatbot-query` under the Lambda Runtime API named by `AWS_LAMBDA_RUNTIME_API` (what each
    /// execution environment starts; the same code as the `bootstrap` binary).
    #[command(hide = true)]
    Function,
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Print exactly one JSON line on stdout when ready (logs and traces go to stderr).
    #[arg(long)]
    json: bool,
    /// Topology TOML (default: the embedded chain, identical to infrastructure/chatbot).
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Build the topology from a Terraform directory (the subset `emulator check` evaluates).
    #[arg(long)]
    terraform: Option<PathBuf>,
    /// A built `bootstrap` to run instead of the emulator's own copy of chatbot-query.
    #[arg(long)]
    function_binary: Option<PathBuf>,
    /// The CloudFront edge.
    #[arg(long, default_value = "127.0.0.1:9000", env = "EMULATOR_EDGE_ADDR")]
    edge_addr: std::net::SocketAddr,
    /// The Function URL.
    #[arg(long, default_value = "127.0.0.1:9001", env = "EMULATOR_URL_ADDR")]
    url_addr: std::net::SocketAddr,
    /// fake-cognito.
    #[arg(long, default_value = "127.0.0.1:9229", env = "EMULATOR_COGNITO_ADDR")]
    cognito_addr: std::net::SocketAddr,
    /// fake-gemini.
    #[arg(long, default_value = "127.0.0.1:9300", env = "EMULATOR_GEMINI_ADDR")]
    gemini_addr: std::net::SocketAddr,
    /// The local chat page (its origin is allowed through CORS). Not 5173: the site's own Vite dev
    /// server runs there.
    #[arg(long, default_value = "127.0.0.1:9080", env = "EMULATOR_SITE_ADDR")]
    site_addr: std::net::SocketAddr,
    /// The Amplify v6 bundle the page signs in with (default: web/dist/amplify.js of this checkout,
    /// made by `npm ci && npm run build` in web/; without it the page signs in with a few lines of
    /// USER_PASSWORD_AUTH).
    #[arg(long)]
    amplify_bundle: Option<PathBuf>,
    /// A fake-gemini scenario file (TOML) instead of the default tutor answer.
    #[arg(long)]
    gemini_script: Option<PathBuf>,
    /// Also allow this origin (scheme://host[:port]) through the function URL's CORS; repeatable.
    /// The embedded default already allows the site's Vite dev server (http://localhost:5173,
    /// http://127.0.0.1:5173) and the chat page `up` serves.
    #[arg(long = "allow-origin", value_parser = parse_origin)]
    allow_origins: Vec<String>,
    /// Seconds a connection may take to send a whole request head, or stay idle between requests,
    /// before it is closed (every listener; also the request-body stall limit).
    #[arg(long, default_value_t = 30)]
    header_timeout_s: u64,
    /// Seconds an idle execution environment is kept warm before its process is stopped.
    #[arg(long, default_value_t = 300)]
    environment_idle_s: u64,
    /// Open connections per listener at most; more are closed at accept.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// A Terraform variable for --terraform (NAME=VALUE; lists as HCL: 'allowed_origins=["…"]').
    #[arg(long = "var", value_parser = parse_pair)]
    vars: Vec<(String, String)>,
    /// When ready, also write the JSON line to this file (what `emulator health` reads; the
    /// container image's health check).
    #[arg(long, env = "EMULATOR_READY_FILE")]
    ready_file: Option<PathBuf>,
}

fn parse_origin(text: &str) -> Result<String, String> {
    if emulator::topology::valid_origin(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not an origin: scheme://host[:port], no path, no trailing slash, no wildcard"
        ))
    }
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The Terraform directory (e.g. infrastructure/chatbot).
    dir: PathBuf,
    /// A variable value (NAME=VALUE), as terraform's -var.
    #[arg(long = "var", value_parser = parse_pair)]
    vars: Vec<(String, String)>,
    /// The built `bootstrap` to test (the artifact about to be deployed); default: the emulator's own
    /// copy of the function.
    #[arg(long)]
    function_binary: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ChatArgs {
    /// The question.
    question: String,
    /// The edge.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    edge_url: String,
    /// Cognito.
    #[arg(long, default_value = "http://127.0.0.1:9229")]
    cognito_url: String,
    /// Username.
    #[arg(long, default_value = fake_cognito::config::DEFAULT_USERNAME)]
    username: String,
    /// Password.
    #[arg(long, default_value = fake_cognito::config::DEFAULT_PASSWORD)]
    password: String,
    /// The app client id.
    #[arg(long, default_value = fake_cognito::config::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Send the token in `Authorization` (the original plan), to see why it is refused.
    #[arg(long)]
    token_in_authorization: bool,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Function => runtime
            .block_on(chatbot_query::runtime::run())
            .map_err(|e| anyhow::anyhow!(e)),
        Command::Up(args) => {
            init_logs("lambda=info,emulator=info,fake_cognito=warn,fake_gemini=warn");
            runtime.block_on(up(*args))
        }
        Command::Chat(args) => runtime.block_on(chat(args)),
        Command::Health { ready_file } => runtime.block_on(emulator::health::probe(&ready_file)),
        Command::Check(args) => {
            init_logs("warn");
            let mut function = function_process(args.function_binary.clone())?;
            function.logs = Logs::Discard;
            let report = runtime.block_on(emulator::check::run(&args.dir, &args.vars, function));
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.render());
            }
            if report.passed {
                Ok(())
            } else {
                anyhow::bail!("the Terraform in {} failed the gate", args.dir.display())
            }
        }
        Command::Invoke {
            event,
            topology,
            function_binary,
            overlay,
        } => {
            init_logs("lambda=info,emulator=info");
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
        idle_timeout: emulator::runtime::IDLE_TIMEOUT,
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
    if let Err(busy) = invoker.wait_until_idle().await {
        tracing::warn!("{busy}; stopping it anyway");
    }
    invoker.shutdown().await;
    outcome
}

fn init_logs(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = term.recv() => {}
    }
    Ok(())
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    use emulator::chain::{Chain, ChainConfig};
    let started = std::time::Instant::now();
    let mut config = ChainConfig::local(function_process(args.function_binary.clone())?);
    match (&args.topology, &args.terraform) {
        (Some(_), Some(_)) => anyhow::bail!("give --topology or --terraform, not both"),
        (Some(path), None) => config.topology = Topology::from_toml_file(path)?,
        (None, Some(dir)) => {
            let module = emulator::terraform::Module::load(dir, &args.vars)?;
            config.topology = emulator::terraform::topology(&module)?;
        }
        (None, None) => {}
    }
    if !args.vars.is_empty() && args.terraform.is_none() {
        anyhow::bail!("--var sets a Terraform variable: it goes with --terraform");
    }
    for origin in &args.allow_origins {
        config.topology.allow_origin(origin);
    }
    config.edge_addr = args.edge_addr;
    config.url_addr = args.url_addr;
    config.cognito_addr = args.cognito_addr;
    config.gemini_addr = args.gemini_addr;
    config.site_addr = Some(args.site_addr);
    config.environment_idle_timeout = std::time::Duration::from_secs(args.environment_idle_s);
    config.limits = emulator::server::Limits {
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout_s),
        body_idle_timeout: std::time::Duration::from_secs(args.header_timeout_s),
        max_connections: args.max_connections,
        ..emulator::server::Limits::default()
    };
    config.amplify_bundle = Some(
        args.amplify_bundle
            .clone()
            .unwrap_or_else(emulator::site::default_amplify_bundle),
    );
    config.cognito.key_cache_dir = emulator::chain::default_key_cache();
    if let Some(script) = &args.gemini_script {
        fake_gemini::Script::from_file(script)?.apply(&mut config.gemini);
    }
    let chain = Chain::start(config).await?;
    let ready = started.elapsed();
    let (username, password) = (
        fake_cognito::config::DEFAULT_USERNAME,
        fake_cognito::config::DEFAULT_PASSWORD,
    );
    let summary = chain.summary(username, password);
    if let Some(path) = &args.ready_file {
        emulator::health::write_ready_file(path, &summary)?;
    }
    if args.json {
        println!("{summary}");
    } else {
        print_welcome(&chain, &summary, ready).await;
    }
    let mut finished = chain.traces.subscribe();
    let printer = tokio::spawn(async move {
        while let Ok(trace) = finished.recv().await {
            eprint!("{}", trace.render());
        }
    });
    wait_for_signal().await?;
    tracing::info!("shutting down");
    printer.abort();
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    chain.shutdown().await;
    Ok(())
}

async fn print_welcome(
    chain: &emulator::chain::Chain,
    summary: &serde_json::Value,
    ready: std::time::Duration,
) {
    let edge = chain.edge.url();
    let client = emulator::client::Client::new(
        edge,
        chain.cognito.url(),
        summary["client_id"].as_str().unwrap_or(""),
    );
    let token = client
        .sign_in(
            summary["username"].as_str().unwrap_or(""),
            summary["password"].as_str().unwrap_or(""),
        )
        .await
        .map(|t| t.access_token)
        .unwrap_or_else(|e| format!("<sign-in failed: {e}>"));
    let body = emulator::client::question("How do I start on Two Sum?").to_string();
    let hash = emulator::client::body_hash(body.as_bytes());
    println!("chatbot chain up in {} ms", ready.as_millis());
    println!("  CloudFront edge   {edge}/chatbot");
    println!(
        "  Function URL      {} (AWS_IAM: sign with an IAM user below)",
        chain.url.url()
    );
    println!(
        "  Cognito           {}  pool {}  client {}",
        chain.cognito.url(),
        summary["user_pool_id"].as_str().unwrap_or(""),
        summary["client_id"].as_str().unwrap_or("")
    );
    println!("  Gemini (fake)     {}", chain.gemini.url());
    if let Some(site) = &chain.site {
        println!(
            "  chat page         {}/  (open it in a browser: sign in, ask, watch it stream)",
            site.url()
        );
    }
    println!(
        "  demo user         {} / {}",
        summary["username"].as_str().unwrap_or(""),
        summary["password"].as_str().unwrap_or("")
    );
    for user in &chain.topology.iam_users {
        println!(
            "  IAM user          {}  {} / {}",
            user.name, user.access_key_id, user.secret_access_key
        );
    }
    println!();
    println!("Ask a question (the token is valid for an hour; the body hash must match the body):");
    println!("  curl -N {edge}/chatbot \\");
    println!("    -H 'content-type: application/json' \\");
    println!("    -H 'x-chatbot-authorization: Bearer {token}' \\");
    println!("    -H 'x-amz-content-sha256: {hash}' \\");
    println!("    --data-binary '{body}'");
    println!();
    println!("The original plan (token in Authorization) is refused; the trace says why:");
    println!(
        "  curl -i {edge}/chatbot -H 'content-type: application/json' -H 'authorization: Bearer {token}' -H 'x-amz-content-sha256: {hash}' --data-binary '{body}'"
    );
    println!();
    println!(
        "Or let the reference client do it all:  cargo run -p emulator -- chat \"How do I start?\""
    );
    println!("Traces of every request follow on stderr; Ctrl-C stops everything.");
}

async fn chat(args: ChatArgs) -> anyhow::Result<()> {
    use emulator::client::{Answer, Client, Options, Received, TokenPlacement};
    let client = Client::new(&args.edge_url, &args.cognito_url, &args.client_id);
    let tokens = client.sign_in(&args.username, &args.password).await?;
    let options = Options {
        token: if args.token_in_authorization {
            TokenPlacement::Authorization
        } else {
            TokenPlacement::ChatbotHeader
        },
        ..Options::default()
    };
    match client
        .send(
            &emulator::client::question(&args.question),
            &tokens.access_token,
            &options,
        )
        .await?
    {
        Answer::Stream(mut stream) => {
            let mut stdout = std::io::stdout();
            while let Some(item) = stream.next().await {
                match item?.0 {
                    Received::Event(chatbot_query::sse::Event::Delta(delta)) => {
                        stdout.write_all(delta.text.as_bytes())?;
                        stdout.flush()?;
                    }
                    Received::Event(chatbot_query::sse::Event::Done(done)) => {
                        println!();
                        eprintln!("[done: {}]", done.finish_reason);
                    }
                    Received::Event(chatbot_query::sse::Event::Error(error)) => {
                        println!();
                        anyhow::bail!("the answer failed: {} ({})", error.message, error.code);
                    }
                    Received::KeepAlive => {}
                }
            }
            Ok(())
        }
        Answer::Refused {
            status,
            body,
            trace_id,
            ..
        } => {
            let reason = match &trace_id {
                Some(id) => match client.trace(id).await {
                    Ok(trace) => match trace.refusal() {
                        Some(hop) => {
                            // The earliest hint explains the cause (e.g. OAC replacing Authorization).
                            let hint = trace
                                .hops
                                .iter()
                                .find_map(|h| h.hint.clone())
                                .unwrap_or_default();
                            format!(
                                "refused at {} ({}): {} — {hint}",
                                hop.hop, hop.rule, hop.detail
                            )
                        }
                        None => format!("refused: {body}"),
                    },
                    Err(_) => format!("refused: {body}"),
                },
                None => format!("refused: {body}"),
            };
            anyhow::bail!("HTTP {status}: {reason}")
        }
    }
}
