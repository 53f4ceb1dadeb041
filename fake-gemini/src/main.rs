//! `fake-gemini`: serve the fake Gemini API until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use fake_gemini::{Config, FakeGemini, Script};

/// A scriptable fake of Google's Gemini streaming API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9300", env = "FAKE_GEMINI_ADDR")]
    addr: SocketAddr,
    /// Exit 0 if a server is accepting connections on --addr, 1 otherwise, and start nothing (the
    /// container image's health check; set the address with the environment variable, as the image does).
    #[arg(long)]
    health_check: bool,
    /// TOML scenario file (format in the README); without it, every request gets the default answer.
    #[arg(long)]
    script: Option<PathBuf>,
    /// The API key to accept.
    #[arg(long, default_value = fake_gemini::DEFAULT_API_KEY)]
    api_key: String,
    /// Serve HTTPS with a CA generated at start; its certificate is written to this file
    /// (point the client's SSL_CERT_FILE at it).
    #[arg(long, value_name = "CA_PEM_PATH")]
    tls: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fake_gemini=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.health_check {
        let addr = fake_gemini::reachable(cli.addr);
        let probe = tokio::net::TcpStream::connect(addr);
        return match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
            Ok(Ok(_)) => Ok(()),
            _ => anyhow::bail!("nothing accepts connections on {addr}"),
        };
    }
    let mut config = Config {
        addr: cli.addr,
        api_key: cli.api_key.clone(),
        tls_ca_path: cli.tls.clone(),
        ..Config::default()
    };
    if let Some(path) = &cli.script {
        Script::from_file(path)?.apply(&mut config);
    }
    let scenarios = config.scenarios.len();
    let handle = FakeGemini::spawn(config)
        .await
        .with_context(|| format!("fake-gemini could not start (--addr {})", cli.addr))?;
    println!("fake-gemini listening on {}", handle.url());
    if let Some(path) = &cli.tls {
        println!(
            "  CA certificate written to {} (use SSL_CERT_FILE)",
            path.display()
        );
    }
    println!("  models: {}", fake_gemini::DEFAULT_MODELS.join(", "));
    println!("  scenarios: {scenarios} scripted, default answer for the rest");
    println!("try:");
    println!(
        "  curl -N '{}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse' \\\n    -H 'x-goog-api-key: {}' -H 'content-type: application/json' \\\n    -d '{{\"contents\":[{{\"role\":\"user\",\"parts\":[{{\"text\":\"How do I start?\"}}]}}]}}'",
        handle.url(),
        cli.api_key
    );
    wait_for_signal().await?;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = term.recv() => {}
    }
    Ok(())
}
