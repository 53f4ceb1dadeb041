//! One execution environment's process: started with the environment Lambda gives it and pointed at
//! its own Runtime API, watched until it exits or is killed. Its state lives in [`Lifecycle`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::InvokeError;
use super::lifecycle::{Cause, Lifecycle};
use crate::server::Served;

/// Where a function process's own stdout/stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// To the emulator's stderr, stdout and stderr both (what `up` and `invoke` do).
    Inherit,
    /// Nowhere (tests).
    Discard,
}

/// What to run as the function.
#[derive(Debug, Clone)]
pub struct FunctionProcess {
    /// The executable: a built `bootstrap`, or the emulator itself.
    pub program: PathBuf,
    /// Its arguments (`["function"]` for the emulator's hidden mode).
    pub args: Vec<String>,
    /// Where its output goes.
    pub logs: Logs,
}

/// A live environment; dropping it stops the process and its Runtime API.
#[derive(Debug)]
pub(crate) struct Environment {
    pub lifecycle: Arc<Lifecycle>,
    _api: Served,
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.lifecycle.kill(Cause::ShutDown);
    }
}

/// What an environment needs to start.
#[derive(Debug, Clone)]
pub(crate) struct EnvSpec {
    pub id: u64,
    pub function_arn: String,
    pub memory_mb: u32,
    pub process: FunctionProcess,
    pub env: BTreeMap<String, String>,
}

/// Starts a Runtime API on port 0 and the process pointed at it.
pub(crate) async fn spawn(spec: EnvSpec) -> Result<Environment, InvokeError> {
    let (kill_tx, kill_rx) = oneshot::channel::<Cause>();
    let lifecycle = Arc::new(Lifecycle::new(
        spec.id,
        spec.function_arn.clone(),
        spec.memory_mb,
        kill_tx,
    ));
    let api = super::api::spawn(super::api::Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        lifecycle: lifecycle.clone(),
    })
    .await
    .map_err(|e| InvokeError::Spawn(format!("cannot bind the Runtime API: {e}")))?;
    let mut env = spec.env.clone();
    env.insert("AWS_LAMBDA_RUNTIME_API".into(), api.addr().to_string());
    let mut command = tokio::process::Command::new(&spec.process.program);
    command
        .args(&spec.process.args)
        .env_clear()
        .envs(&env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match spec.process.logs {
        Logs::Discard => {
            command
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        // Lambda sends a function's stdout and stderr to its log stream: both go to the emulator's
        // stderr, with START/END/REPORT, never into a response body on the emulator's stdout.
        Logs::Inherit => {
            command
                .stdout(std::process::Stdio::from(std::io::stderr()))
                .stderr(std::process::Stdio::inherit());
        }
    }
    let mut child = command.spawn().map_err(|e| {
        InvokeError::Spawn(format!(
            "cannot start {}: {e}",
            spec.process.program.display()
        ))
    })?;
    lifecycle.set_pid(child.id().unwrap_or(0));
    let watcher = lifecycle.clone();
    tokio::spawn(async move {
        let cause = tokio::select! {
            status = child.wait() => match status {
                Ok(status) => Cause::Exited(status.to_string()),
                Err(e) => Cause::Lost(e.to_string()),
            },
            cause = kill_rx => {
                let _ = child.kill().await;
                cause.unwrap_or(Cause::ShutDown)
            }
        };
        watcher.died(cause);
    });
    Ok(Environment {
        lifecycle,
        _api: api,
    })
}
