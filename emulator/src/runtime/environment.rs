//! One execution environment: a function process started with the environment Lambda gives it, its own
//! Runtime API listener, and its life (starting → idle ⇄ busy → dead). Reports `START`/`END`/`REPORT`
//! lines as Lambda does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};

use super::{FunctionResponse, InvokeError, StreamFault};

/// Where a function process's own stdout/stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// To the emulator's stdout/stderr (what `up` does).
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

/// An environment's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvState {
    /// Process started, no `/next` yet.
    Starting,
    /// Waiting in `/next`.
    Idle,
    /// Running an invocation.
    Busy,
    /// The function reported an init error.
    InitFailed {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The process is gone (crashed, timed out, shut down).
    Dead(String),
}

/// An invocation waiting for the environment's next `/next`.
#[derive(Debug)]
pub(crate) struct Queued {
    pub request_id: String,
    pub trace_id: String,
    pub deadline_ms: u128,
    pub event: Bytes,
    pub reply: oneshot::Sender<Result<FunctionResponse, InvokeError>>,
    pub permit: OwnedSemaphorePermit,
    /// Fired when the process takes the invocation from `/next`: the function timeout starts there.
    pub handed_over: oneshot::Sender<()>,
}

#[derive(Debug)]
struct Current {
    request_id: String,
    reply: Option<oneshot::Sender<Result<FunctionResponse, InvokeError>>>,
    body: Option<mpsc::Sender<Result<Bytes, StreamFault>>>,
    started: Instant,
    finished: bool,
    _permit: OwnedSemaphorePermit,
}

/// State shared by the environment's Runtime API handlers, its process watcher and the invoker.
#[derive(Debug)]
pub(crate) struct EnvShared {
    pub id: u64,
    pub function_arn: String,
    memory_mb: u32,
    pub queue: tokio::sync::Mutex<mpsc::Receiver<Queued>>,
    pub sender: mpsc::Sender<Queued>,
    pub state: watch::Sender<EnvState>,
    pub claimed: Mutex<bool>,
    current: Mutex<Option<Current>>,
    spawned: Instant,
    init_duration: Mutex<Option<Duration>>,
    init_reported: Mutex<bool>,
    pid: AtomicU32,
    kill: Mutex<Option<oneshot::Sender<String>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl EnvShared {
    pub fn set_state(&self, state: EnvState) {
        self.state.send_replace(state);
    }

    /// The process is in `/next`: the previous invocation (if any) is over and its concurrency slot
    /// is free.
    pub fn became_idle(&self) {
        let mut init = lock(&self.init_duration);
        if init.is_none() {
            *init = Some(self.spawned.elapsed());
        }
        drop(init);
        if let Some(mut previous) = lock(&self.current).take() {
            if let Some(reply) = previous.reply.take() {
                let _ = reply.send(Err(InvokeError::BadResponse(
                    "the function asked for its next event without answering this one".into(),
                )));
            }
        }
        self.set_state(EnvState::Idle);
    }

    /// An invocation was handed to the process.
    pub fn start(&self, queued: Queued) {
        *lock(&self.claimed) = false;
        tracing::info!(target: "lambda", "START RequestId: {} Version: $LATEST", queued.request_id);
        *lock(&self.current) = Some(Current {
            request_id: queued.request_id,
            reply: Some(queued.reply),
            body: None,
            started: Instant::now(),
            finished: false,
            _permit: queued.permit,
        });
        self.set_state(EnvState::Busy);
        let _ = queued.handed_over.send(());
    }

    pub fn is_current(&self, id: &str) -> bool {
        lock(&self.current)
            .as_ref()
            .is_some_and(|c| c.request_id == id && !c.finished)
    }

    /// The request id of the running invocation, if unfinished.
    pub fn running(&self) -> Option<String> {
        lock(&self.current)
            .as_ref()
            .filter(|c| !c.finished)
            .map(|c| c.request_id.clone())
    }

    /// Delivers the start of the response (or its failure) to the invoker.
    pub fn respond(&self, id: &str, result: Result<FunctionResponse, InvokeError>) {
        let mut current = lock(&self.current);
        if let Some(current) = current.as_mut().filter(|c| c.request_id == id) {
            if let Some(reply) = current.reply.take() {
                let _ = reply.send(result);
            }
        }
    }

    /// Keeps a handle on a streaming body so a timeout or crash can end it with a fault.
    pub fn attach_body(&self, id: &str, body: mpsc::Sender<Result<Bytes, StreamFault>>) {
        if let Some(current) = lock(&self.current).as_mut().filter(|c| c.request_id == id) {
            current.body = Some(body);
        }
    }

    /// Fails the invocation: before its response started, the invoker gets the error; after, the body
    /// stream ends with it.
    pub fn fail(&self, id: &str, error: InvokeError) {
        let mut current = lock(&self.current);
        let Some(current) = current.as_mut().filter(|c| c.request_id == id) else {
            return;
        };
        if let Some(reply) = current.reply.take() {
            let _ = reply.send(Err(error));
        } else if let Some(body) = current.body.take() {
            let fault = match error {
                InvokeError::Timeout => StreamFault::Timeout,
                InvokeError::FunctionError {
                    error_type,
                    message,
                } => StreamFault::FunctionError {
                    error_type,
                    error_body: message,
                },
                other => StreamFault::Crashed(other.to_string()),
            };
            let _ = body.try_send(Err(fault));
        }
    }

    /// The invocation is over (for the emulator; the slot frees at the next `/next`): `END` and `REPORT`.
    pub fn finish(&self, id: &str, how: &str) {
        let mut current = lock(&self.current);
        let Some(current) = current
            .as_mut()
            .filter(|c| c.request_id == id && !c.finished)
        else {
            return;
        };
        current.finished = true;
        current.body = None;
        let duration = current.started.elapsed();
        let init = {
            let mut reported = lock(&self.init_reported);
            let first = !*reported;
            *reported = true;
            (*lock(&self.init_duration)).filter(|_| first)
        };
        let millis = duration.as_secs_f64() * 1000.0;
        let mut report = format!(
            "REPORT RequestId: {id}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            millis.ceil().max(1.0) as u64,
            self.memory_mb,
            self.max_memory_mb()
        );
        if let Some(init) = init {
            report.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        tracing::info!(target: "lambda", environment = self.id, "END RequestId: {id}");
        tracing::info!(target: "lambda", environment = self.id, outcome = how, "{report}");
    }

    /// Peak resident memory of the process (`VmHWM`), in MB.
    fn max_memory_mb(&self) -> u64 {
        let pid = self.pid.load(Ordering::Relaxed);
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb.div_ceil(1024))
    }

    /// Stops the process (timeout, shutdown); the watcher reports it dead with `reason`.
    pub fn kill(&self, reason: &str) {
        if let Some(kill) = lock(&self.kill).take() {
            let _ = kill.send(reason.to_owned());
        }
    }

    fn died(&self, reason: String) {
        if let Some(id) = self.running() {
            let error = if reason.contains("timed out") {
                InvokeError::Timeout
            } else {
                InvokeError::Crashed(reason.clone())
            };
            self.fail(&id, error);
            self.finish(&id, &reason);
        }
        lock(&self.current).take();
        if !matches!(*self.state.borrow(), EnvState::InitFailed { .. }) {
            self.set_state(EnvState::Dead(reason));
        }
    }
}

/// A live environment; dropping it stops the process and its Runtime API.
#[derive(Debug)]
pub(crate) struct Environment {
    pub shared: Arc<EnvShared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.shared.kill("shut down");
        self.server.abort();
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
    let (sender, receiver) = mpsc::channel(1);
    let (kill_tx, kill_rx) = oneshot::channel::<String>();
    let shared = Arc::new(EnvShared {
        id: spec.id,
        function_arn: spec.function_arn.clone(),
        memory_mb: spec.memory_mb,
        queue: tokio::sync::Mutex::new(receiver),
        sender,
        state: watch::Sender::new(EnvState::Starting),
        claimed: Mutex::new(true),
        current: Mutex::new(None),
        spawned: Instant::now(),
        init_duration: Mutex::new(None),
        init_reported: Mutex::new(false),
        pid: AtomicU32::new(0),
        kill: Mutex::new(Some(kill_tx)),
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| InvokeError::Spawn(format!("cannot bind the Runtime API: {e}")))?;
    let runtime_addr = listener
        .local_addr()
        .map_err(|e| InvokeError::Spawn(e.to_string()))?;
    let router = super::api::router(shared.clone());
    let listener = super::quickack::QuickAckListener(listener);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let mut env = spec.env.clone();
    env.insert("AWS_LAMBDA_RUNTIME_API".into(), runtime_addr.to_string());
    let mut command = tokio::process::Command::new(&spec.process.program);
    command
        .args(&spec.process.args)
        .env_clear()
        .envs(&env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if spec.process.logs == Logs::Discard {
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    let mut child = command.spawn().map_err(|e| {
        server.abort();
        InvokeError::Spawn(format!(
            "cannot start {}: {e}",
            spec.process.program.display()
        ))
    })?;
    shared.pid.store(child.id().unwrap_or(0), Ordering::Relaxed);
    let watcher = shared.clone();
    tokio::spawn(async move {
        let reason = tokio::select! {
            status = child.wait() => match status {
                Ok(status) => format!("the function process exited ({status})"),
                Err(e) => format!("the function process was lost: {e}"),
            },
            reason = kill_rx => {
                let _ = child.kill().await;
                reason.unwrap_or_else(|_| "shut down".into())
            }
        };
        watcher.died(reason);
    });
    Ok(Environment { shared, server })
}
