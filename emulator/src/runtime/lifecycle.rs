//! One execution environment's state and every transition of it, in one place: starting → idle →
//! claimed (by one invocation, compare-and-swap) → busy → idle again, or dead with a [`Cause`]. The
//! Runtime API handlers, the process watcher, the watchdog and the invoker all change it only through
//! [`Lifecycle`]'s methods. Reports Lambda's `START`/`END`/`REPORT` lines.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};

use super::{FunctionResponse, InvokeError, StreamFault};

/// Why an environment's process is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The function timeout passed during an invocation.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// No `/next` within Lambda's init limit.
    InitTimedOut {
        /// The limit.
        after: Duration,
    },
    /// The process exited by itself.
    Exited(String),
    /// Waiting for the process failed.
    Lost(String),
    /// Idle longer than the emulator keeps an environment warm.
    Reclaimed {
        /// How long it had been idle.
        idle: Duration,
    },
    /// The emulator stopped it.
    ShutDown,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut { after } => {
                write!(f, "Task timed out after {:.2} seconds", after.as_secs_f64())
            }
            Self::InitTimedOut { after } => {
                write!(
                    f,
                    "Init timed out: no /next within {} seconds",
                    after.as_secs()
                )
            }
            Self::Exited(status) => write!(f, "the function process exited ({status})"),
            Self::Lost(why) => write!(f, "the function process was lost: {why}"),
            Self::Reclaimed { idle } => {
                write!(f, "reclaimed after {:.0} s idle", idle.as_secs_f64())
            }
            Self::ShutDown => f.write_str("shut down"),
        }
    }
}

/// An environment's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvState {
    /// Process started, no `/next` yet.
    Starting,
    /// Waiting in `/next`.
    Idle,
    /// Taken by an invocation that is on its way to `/next`.
    Claimed,
    /// Running an invocation.
    Busy,
    /// The function reported an init error.
    InitFailed {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The process is gone.
    Dead(Cause),
}

impl EnvState {
    /// Whether the environment can take no more invocations.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Dead(_) | Self::InitFailed { .. })
    }
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

/// One environment's state, shared by its Runtime API, its process watcher and the invoker.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    pub id: u64,
    pub function_arn: String,
    memory_mb: u32,
    queue: tokio::sync::Mutex<mpsc::Receiver<Queued>>,
    sender: mpsc::Sender<Queued>,
    state: watch::Sender<EnvState>,
    current: Mutex<Option<Current>>,
    spawned: Instant,
    init_duration: Mutex<Option<Duration>>,
    init_reported: AtomicBool,
    pid: AtomicU32,
    kill: Mutex<Option<oneshot::Sender<Cause>>>,
    idle_since: Mutex<Option<Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Lifecycle {
    /// A starting environment; `kill` stops its process.
    pub fn new(
        id: u64,
        function_arn: String,
        memory_mb: u32,
        kill: oneshot::Sender<Cause>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(1);
        Self {
            id,
            function_arn,
            memory_mb,
            queue: tokio::sync::Mutex::new(receiver),
            sender,
            state: watch::Sender::new(EnvState::Starting),
            current: Mutex::new(None),
            spawned: Instant::now(),
            init_duration: Mutex::new(None),
            init_reported: AtomicBool::new(false),
            pid: AtomicU32::new(0),
            kill: Mutex::new(Some(kill)),
            idle_since: Mutex::new(None),
        }
    }

    /// How long the environment has been idle in `/next`, if it is.
    pub fn idle_for(&self) -> Option<Duration> {
        (self.state() == EnvState::Idle)
            .then(|| lock(&self.idle_since).map(|since| since.elapsed()))
            .flatten()
    }

    /// The state now.
    pub fn state(&self) -> EnvState {
        self.state.borrow().clone()
    }

    /// Its changes.
    pub fn watch(&self) -> watch::Receiver<EnvState> {
        self.state.subscribe()
    }

    /// The process id, once started.
    pub fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// Takes an idle environment for one invocation: idle → claimed, atomically; false if it was not
    /// idle (another invocation got it first, or it is starting, busy or gone).
    pub fn claim(&self) -> bool {
        self.state.send_if_modified(|state| {
            if *state == EnvState::Idle {
                *state = EnvState::Claimed;
                true
            } else {
                false
            }
        })
    }

    /// Queues an invocation for the process's next `/next` (the environment was claimed, or is new).
    pub async fn queue(&self, queued: Queued) -> Result<(), InvokeError> {
        self.sender.send(queued).await.map_err(|_| {
            InvokeError::Crashed("the environment stopped before the invocation".into())
        })
    }

    /// `/next`: the previous invocation (if any) is over and its concurrency slot is free; waits for
    /// the next one (`None` when the environment is shutting down).
    pub async fn next(&self) -> Option<Queued> {
        {
            let mut init = lock(&self.init_duration);
            if init.is_none() {
                *init = Some(self.spawned.elapsed());
            }
        }
        if let Some(mut previous) = lock(&self.current).take() {
            if let Some(reply) = previous.reply.take() {
                let _ = reply.send(Err(InvokeError::BadResponse(
                    "the function asked for its next event without answering this one".into(),
                )));
            }
        }
        let mut queue = self.queue.lock().await;
        // A new environment's first invocation is queued before its process asks: it never shows as
        // idle, so no other invocation can claim it in between.
        if let Ok(queued) = queue.try_recv() {
            return Some(queued);
        }
        *lock(&self.idle_since) = Some(Instant::now());
        self.state.send_if_modified(|state| {
            let idle = matches!(state, EnvState::Starting | EnvState::Busy);
            if idle {
                *state = EnvState::Idle;
            }
            idle
        });
        let mut state = self.state.subscribe();
        tokio::select! {
            queued = queue.recv() => queued,
            // A dead environment's runtime is told to stop instead of waiting forever.
            _ = state.wait_for(EnvState::is_gone) => None,
        }
    }

    /// An invocation was handed to the process.
    pub fn start(&self, queued: Queued) {
        tracing::info!(target: "lambda", "START RequestId: {} Version: $LATEST", queued.request_id);
        *lock(&self.current) = Some(Current {
            request_id: queued.request_id,
            reply: Some(queued.reply),
            body: None,
            started: Instant::now(),
            finished: false,
            _permit: queued.permit,
        });
        self.state.send_replace(EnvState::Busy);
        let _ = queued.handed_over.send(());
    }

    /// Whether `id` is the running, unfinished invocation.
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
        let first = !self.init_reported.swap(true, Ordering::Relaxed);
        let init = (*lock(&self.init_duration)).filter(|_| first);
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

    /// The function reported an init error: the environment takes no invocation.
    pub fn init_failed(&self, error_type: String, message: String) {
        self.state.send_replace(EnvState::InitFailed {
            error_type,
            message,
        });
    }

    /// Stops the process (timeout, shutdown); the watcher then reports it dead with `cause`.
    pub fn kill(&self, cause: Cause) {
        if let Some(kill) = lock(&self.kill).take() {
            let _ = kill.send(cause);
        }
    }

    /// The process is gone: the running invocation fails with the cause.
    pub fn died(&self, cause: Cause) {
        if let Some(id) = self.running() {
            let error = match &cause {
                Cause::TimedOut { .. } => InvokeError::Timeout,
                other => InvokeError::Crashed(other.to_string()),
            };
            self.fail(&id, error);
            self.finish(&id, &cause.to_string());
        }
        lock(&self.current).take();
        self.state.send_if_modified(|state| {
            if matches!(state, EnvState::InitFailed { .. }) {
                return false;
            }
            *state = EnvState::Dead(cause);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifecycle() -> Lifecycle {
        Lifecycle::new(1, "arn".into(), 128, oneshot::channel().0)
    }

    #[test]
    fn only_an_idle_environment_is_claimed_and_only_once() {
        let env = lifecycle();
        assert!(!env.claim(), "a starting environment is not claimed");
        env.state.send_replace(EnvState::Idle);
        assert!(env.claim());
        assert!(!env.claim(), "the second claim loses");
        assert_eq!(env.state(), EnvState::Claimed);
    }

    #[test]
    fn death_keeps_an_init_failure_and_says_why() {
        let env = lifecycle();
        env.died(Cause::Exited("exit status: 3".into()));
        assert_eq!(
            env.state(),
            EnvState::Dead(Cause::Exited("exit status: 3".into()))
        );
        let env = lifecycle();
        env.init_failed("Runtime.InitError".into(), "no key".into());
        env.died(Cause::ShutDown);
        assert!(matches!(env.state(), EnvState::InitFailed { .. }));
        assert_eq!(
            Cause::TimedOut {
                after: Duration::from_secs(1)
            }
            .to_string(),
            "Task timed out after 1.00 seconds"
        );
    }
}
