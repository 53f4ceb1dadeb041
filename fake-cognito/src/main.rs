//! `fake-cognito`: serve a local Cognito user pool until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use fake_cognito::{Config, FakeCognito, IssuerMode};

/// A local Amazon Cognito user pool: tokens, JWKS, discovery and the Identity Provider API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9229", env = "FAKE_COGNITO_ADDR")]
    addr: SocketAddr,
    /// Exit 0 if a server is accepting connections on --addr, 1 otherwise, and start nothing (the
    /// container image's health check; set the address with the environment variable, as the image does).
    #[arg(long)]
    health_check: bool,
    /// TOML file with pools, clients and users (default: the embedded chatbot pool and demo user).
    #[arg(long)]
    config: Option<PathBuf>,
    /// How tokens spell `iss`: `aws` (https://cognito-idp.<region>.amazonaws.com/<pool>),
    /// `aws-updated` (issuer-cognito-idp…), or `local` (this server's own URL).
    #[arg(long, value_parser = parse_issuer)]
    issuer: Option<IssuerMode>,
    /// Where generated signing keys are cached between runs (default: the user's cache directory).
    #[arg(long, env = "FAKE_COGNITO_KEY_CACHE")]
    key_cache_dir: Option<PathBuf>,
}

fn parse_issuer(value: &str) -> Result<IssuerMode, String> {
    match value {
        "aws" => Ok(IssuerMode::Aws),
        "aws-updated" => Ok(IssuerMode::AwsUpdated),
        "local" => Ok(IssuerMode::Local),
        other => Err(format!(
            "unknown issuer mode {other:?}: aws, aws-updated or local"
        )),
    }
}

fn default_key_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("fake-cognito").join("keys"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fake_cognito=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.health_check {
        let addr = fake_cognito::reachable(cli.addr);
        let probe = tokio::net::TcpStream::connect(addr);
        return match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
            Ok(Ok(_)) => Ok(()),
            _ => anyhow::bail!("nothing accepts connections on {addr}"),
        };
    }
    let mut config = match &cli.config {
        Some(path) => Config::from_toml_file(path)?,
        None => Config::default(),
    };
    config.addr = cli.addr;
    if let Some(issuer) = cli.issuer {
        config.issuer = issuer;
    }
    config.key_cache_dir = cli.key_cache_dir.or_else(default_key_cache);
    let summary = config.clone();
    let handle = FakeCognito::spawn(config)
        .await
        .with_context(|| format!("fake-cognito could not start (--addr {})", cli.addr))?;

    println!("fake-cognito listening on {}", handle.url());
    for pool in &summary.pools {
        let issuer = handle.issuer(&pool.id).unwrap_or_default();
        println!("  pool {}  issuer {issuer}", pool.id);
        println!("    jwks    {}", handle.jwks_url(&pool.id));
        for client in &pool.clients {
            let secret = if client.secret.is_some() {
                " (with secret)"
            } else {
                ""
            };
            println!("    client  {}{secret}", client.id);
        }
        for user in &pool.users {
            println!("    user    {} / {}", user.username, user.password);
        }
    }
    // A pool may have users but no client (or the reverse): only a pool with both can sign in.
    let sign_in = summary
        .pools
        .iter()
        .find_map(|pool| Some((pool, pool.clients.first()?, pool.users.first()?)));
    if let Some((pool, client, user)) = sign_in {
        println!("sign in:");
        println!(
            "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws cognito-idp initiate-auth \\\n    --region {} --endpoint-url {} --client-id {} \\\n    --auth-flow USER_PASSWORD_AUTH --auth-parameters USERNAME={},PASSWORD='{}'",
            pool.region(),
            handle.url(),
            client.id,
            user.username,
            user.password
        );
    }

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
