//! The Lambda Runtime API host and the execution environments behind an [`Invoker`]: cold start on
//! demand, warm reuse, at most the reserved concurrency at once, the function timeout enforced, crashes
//! and init errors detected. [`Invoker::invoke`] takes an event and returns the response's prelude and
//! its body as a stream; dropping that stream closes the function's response connection.

mod api;
pub mod environment;
mod errors;
pub mod lifecycle;
pub mod prelude;
mod quickack;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rand::Rng;
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};

use crate::topology::Topology;
use environment::{EnvSpec, Environment};
pub use environment::{FunctionProcess, Logs};
use lifecycle::Queued;
pub use lifecycle::{Cause, EnvState};
pub use prelude::Prelude;

/// How long an environment may take to reach its first `/next` (Lambda's init limit).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Invoker::wait_until_idle`] waits.
pub const IDLE_WAIT: Duration = Duration::from_secs(30);

/// An environment was still starting or busy after [`IDLE_WAIT`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an execution environment was still starting or busy after {0:?}")]
pub struct NotIdle(pub Duration);

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// Every allowed environment is busy (the URL answers 429).
    #[error("Rate Exceeded.")]
    Throttled,
    /// The function failed its cold start.
    #[error("{error_type}: {message}")]
    InitFailed {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The function reported an error for this invocation.
    #[error("{error_type}: {message}")]
    FunctionError {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The process died.
    #[error("{0}")]
    Crashed(String),
    /// The function timeout passed.
    #[error("Task timed out")]
    Timeout,
    /// The response broke the protocol.
    #[error("invalid function response: {0}")]
    BadResponse(String),
    /// The process could not be started.
    #[error("{0}")]
    Spawn(String),
}

/// How a streamed body ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamFault {
    /// The function timeout passed mid-stream.
    #[error("the function timed out mid-stream")]
    Timeout,
    /// The process died mid-stream.
    #[error("the function crashed mid-stream: {0}")]
    Crashed(String),
    /// The function sent error trailers.
    #[error("{error_type}: {error_body}")]
    FunctionError {
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The decoded `Lambda-Runtime-Function-Error-Body`.
        error_body: String,
    },
}

/// A streamed response body. Dropping it closes the function's response connection.
#[derive(Debug)]
pub struct BodyStream {
    rx: mpsc::Receiver<Result<Bytes, StreamFault>>,
}

impl BodyStream {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Bytes, StreamFault>>) -> Self {
        Self { rx }
    }
}

impl futures_util::Stream for BodyStream {
    type Item = Result<Bytes, StreamFault>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// What the function answered.
#[derive(Debug)]
pub enum FunctionResponse {
    /// Response streaming: the prelude, then the body as the function writes it.
    Streaming {
        /// Status, headers, cookies.
        prelude: Prelude,
        /// The body.
        body: BodyStream,
    },
    /// A buffered (payload v2.0) response, complete.
    Buffered {
        /// Status.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Cookies.
        cookies: Vec<String>,
        /// Body.
        body: Bytes,
    },
}

/// A started invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// Whether a new environment was started for it.
    pub cold_start: bool,
    /// The response.
    pub response: FunctionResponse,
}

/// What the invoker runs.
#[derive(Debug, Clone)]
pub struct InvokerConfig {
    /// The function (name, memory, timeout, concurrency, env, role) and its region and account.
    pub topology: Topology,
    /// The process to start per environment.
    pub process: FunctionProcess,
    /// Variables the emulator lays over the function's own (`COGNITO_JWKS_URL`, `GEMINI_BASE_URL`,
    /// `AWS_ENDPOINT_URL_SSM`), pointing at the local fakes.
    pub overlay: BTreeMap<String, String>,
    /// An environment idle this long is stopped, as Lambda reclaims idle environments (so a burst
    /// does not leave its processes behind). Lambda does not publish its figure; field reports put it
    /// at 5 to 15 minutes.
    pub idle_timeout: Duration,
}

/// [`InvokerConfig::idle_timeout`]'s default: five minutes, the low end of what is reported for Lambda.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs invocations in execution environments.
#[derive(Debug, Clone)]
pub struct Invoker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: InvokerConfig,
    permits: Arc<Semaphore>,
    environments: Mutex<Vec<Environment>>,
    next_id: AtomicU64,
    cold_starts: AtomicU64,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// An X-Ray trace header: `Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0`.
pub fn trace_id() -> String {
    let mut rng = rand::thread_rng();
    let seconds = now_ms() / 1000;
    format!(
        "Root=1-{seconds:08x}-{:024x};Parent={:016x};Sampled=0",
        rng.r#gen::<u128>() & ((1u128 << 96) - 1),
        rng.r#gen::<u64>()
    )
}

/// The environment Lambda gives a `provided.al2023` function, the function's own variables, then the
/// emulator's overlay.
pub fn lambda_environment(
    topology: &Topology,
    overlay: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let f = &topology.function;
    let today = time::OffsetDateTime::now_utc();
    let stream = format!(
        "{:04}/{:02}/{:02}/[$LATEST]{}",
        today.year(),
        today.month() as u8,
        today.day(),
        uuid::Uuid::new_v4().simple()
    );
    let mut env: BTreeMap<String, String> = [
        ("AWS_LAMBDA_FUNCTION_NAME", f.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", f.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", topology.region.clone()),
        ("AWS_DEFAULT_REGION", topology.region.clone()),
        ("AWS_ACCESS_KEY_ID", f.role.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", f.role.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", f.role.session_token.clone()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        (
            "LD_LIBRARY_PATH",
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(f.env.clone());
    env.extend(overlay.clone());
    env
}

impl Invoker {
    /// An invoker with no environment started yet (and, inside a Tokio runtime, its reaper of idle
    /// environments).
    pub fn new(config: InvokerConfig) -> Self {
        let limit = config.topology.concurrency_limit();
        let invoker = Self {
            inner: Arc::new(Inner {
                config,
                permits: Arc::new(Semaphore::new(limit)),
                environments: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(1),
                cold_starts: AtomicU64::new(0),
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(reap(Arc::downgrade(&invoker.inner)));
        }
        invoker
    }

    /// The variables an execution environment of this invoker starts with.
    pub fn environment(&self) -> BTreeMap<String, String> {
        lambda_environment(&self.inner.config.topology, &self.inner.config.overlay)
    }

    /// How many environments were cold-started.
    pub fn cold_starts(&self) -> u64 {
        self.inner.cold_starts.load(Ordering::Relaxed)
    }

    /// How many environments are alive.
    pub async fn environments(&self) -> usize {
        let mut environments = self.inner.environments.lock().await;
        prune(&mut environments);
        environments.len()
    }

    /// Waits until no environment is starting or busy (each finished invocation's process is back in
    /// `/next`), so a test can prove reuse without sleeping; at most [`IDLE_WAIT`].
    pub async fn wait_until_idle(&self) -> Result<(), NotIdle> {
        tokio::time::timeout(IDLE_WAIT, self.settle())
            .await
            .map_err(|_| NotIdle(IDLE_WAIT))
    }

    async fn settle(&self) {
        loop {
            let mut states = {
                let mut environments = self.inner.environments.lock().await;
                prune(&mut environments);
                environments
                    .iter()
                    .map(|e| e.lifecycle.watch())
                    .collect::<Vec<_>>()
            };
            let settled = states.iter().all(|s| {
                !matches!(
                    *s.borrow(),
                    EnvState::Starting | EnvState::Claimed | EnvState::Busy
                )
            });
            if settled {
                return;
            }
            let changes = states.iter_mut().map(|s| Box::pin(s.changed()));
            let _ = futures_util::future::select_all(changes).await;
        }
    }

    /// Stops every environment.
    pub async fn shutdown(&self) {
        self.inner.environments.lock().await.clear();
    }

    /// Runs `event` in an idle environment, or a new one, within the concurrency limit.
    pub async fn invoke(&self, event: Bytes) -> Result<Invocation, InvokeError> {
        self.invoke_with_id(uuid::Uuid::new_v4().to_string(), event)
            .await
    }

    /// [`Invoker::invoke`] with a caller-chosen request id (the Function URL uses its own).
    pub async fn invoke_with_id(
        &self,
        request_id: String,
        event: Bytes,
    ) -> Result<Invocation, InvokeError> {
        let inner = &self.inner;
        let permit = inner
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| InvokeError::Throttled)?;
        let (lifecycle, cold_start) = {
            let mut environments = inner.environments.lock().await;
            prune(&mut environments);
            match environments.iter().find(|e| e.lifecycle.claim()) {
                Some(environment) => (environment.lifecycle.clone(), false),
                None => {
                    let spec = EnvSpec {
                        id: inner.next_id.fetch_add(1, Ordering::Relaxed),
                        function_arn: inner.config.topology.function_arn(),
                        memory_mb: inner.config.topology.function.memory_mb,
                        process: inner.config.process.clone(),
                        env: self.environment(),
                    };
                    let environment = environment::spawn(spec).await?;
                    inner.cold_starts.fetch_add(1, Ordering::Relaxed);
                    let lifecycle = environment.lifecycle.clone();
                    environments.push(environment);
                    (lifecycle, true)
                }
            }
        };
        let timeout = Duration::from_secs(inner.config.topology.function.timeout_s);
        let (reply_tx, reply_rx) = oneshot::channel();
        let (handed_over_tx, handed_over_rx) = oneshot::channel();
        let queued = Queued {
            request_id: request_id.clone(),
            trace_id: trace_id(),
            deadline_ms: now_ms().saturating_add(timeout.as_millis()),
            event,
            reply: reply_tx,
            permit,
            handed_over: handed_over_tx,
        };
        lifecycle.queue(queued).await?;
        // The init phase has its own limit; the function timeout runs from the hand-over.
        // Signalled by the hand-over itself (not inferred from state changes, which a busy machine can
        // observe out of order): a stream outliving INIT_TIMEOUT must not be taken for a stuck init.
        let watchdog = lifecycle.clone();
        let watched = request_id.clone();
        tokio::spawn(async move {
            let handed_over = tokio::time::timeout(INIT_TIMEOUT, handed_over_rx)
                .await
                .map(|sent| sent.is_ok());
            match handed_over {
                Err(_) => watchdog.kill(Cause::InitTimedOut {
                    after: INIT_TIMEOUT,
                }),
                Ok(false) => {}
                Ok(true) => {
                    tokio::time::sleep(timeout).await;
                    if watchdog.running().as_deref() == Some(watched.as_str()) {
                        watchdog.kill(Cause::TimedOut { after: timeout });
                    }
                }
            }
        });
        let mut state = lifecycle.watch();
        let reply = async {
            loop {
                match state.borrow_and_update().clone() {
                    EnvState::InitFailed {
                        error_type,
                        message,
                    } => {
                        return Err(InvokeError::InitFailed {
                            error_type,
                            message,
                        });
                    }
                    EnvState::Dead(Cause::TimedOut { .. }) => return Err(InvokeError::Timeout),
                    EnvState::Dead(cause) => return Err(InvokeError::Crashed(cause.to_string())),
                    _ => {}
                }
                if state.changed().await.is_err() {
                    return Err(InvokeError::Crashed("the environment is gone".into()));
                }
            }
        };
        let response = tokio::select! {
            biased;
            answered = reply_rx => answered.unwrap_or_else(|_| Err(InvokeError::Crashed("the environment stopped".into()))),
            failed = reply => {
                // A reply may have raced the state change; prefer it.
                failed
            }
        }?;
        Ok(Invocation {
            request_id,
            cold_start,
            response,
        })
    }
}

/// Stops environments idle longer than the idle timeout; ends with the invoker.
async fn reap(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(period) = inner.upgrade().map(|i| {
            (i.config.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(5))
        }) else {
            return;
        };
        tokio::time::sleep(period).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut environments = inner.environments.lock().await;
        for environment in environments.iter() {
            let lifecycle = &environment.lifecycle;
            if let Some(idle) = lifecycle.idle_for() {
                // Claimed first, so no invocation can be handed to it while it is being stopped.
                if idle >= inner.config.idle_timeout && lifecycle.claim() {
                    tracing::info!(target: "lambda", environment = lifecycle.id, "reclaimed after {:.0} s idle", idle.as_secs_f64());
                    lifecycle.kill(Cause::Reclaimed { idle });
                }
            }
        }
        prune(&mut environments);
    }
}

/// Drops environments whose process is gone.
fn prune(environments: &mut Vec<Environment>) {
    environments.retain(|e| !e.lifecycle.state().is_gone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_look_like_x_ray_headers() {
        let id = trace_id();
        let parts: Vec<&str> = id.split(';').collect();
        assert!(parts[0].starts_with("Root=1-"));
        assert_eq!(parts[0].len(), "Root=1-".len() + 8 + 1 + 24);
        assert_eq!(parts[1].len(), "Parent=".len() + 16);
        assert_eq!(parts[2], "Sampled=0");
    }
}
