//! The contract every listener of the emulator follows (the edge, the Function URL, SSM, each
//! environment's Runtime API): bind (port 0 in tests), serve an axum app over HTTP/1.1 with the peer's
//! address, and stop on [`Served::shutdown`] or drop. Limits every listener has, as real servers do: a
//! connection that sends no complete request head within [`Limits::header_read_timeout`] (a silent or
//! half-sent connection, or an idle keep-alive) is closed; past [`Limits::max_connections`] new
//! connections are shed at once; a request body that stops arriving for [`Limits::body_idle_timeout`]
//! is refused ([`read_body`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

/// What bounds a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A connection that has not sent a whole request head for this long is closed — a silent
    /// connection, a half-sent head, or a keep-alive connection idle between requests.
    pub header_read_timeout: Duration,
    /// A request body that makes no progress for this long is refused.
    pub body_idle_timeout: Duration,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How long shutdown lets in-flight requests finish before their connections are dropped.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    /// hyper's own header timeout (30 s, about what nginx and ALB allow an idle client), and enough
    /// connections for DESIGN.md's 1,000 concurrent streams well under the process's descriptor limit.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// How many connections a listener shed for being over [`Limits::max_connections`].
#[derive(Debug, Clone, Default)]
pub struct ShedCounter(Arc<AtomicU64>);

impl ShedCounter {
    /// Connections closed at accept so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A server running on a bound address; dropping it stops the accept loop.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    url: String,
    shed: ShedCounter,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl Served {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections shed for being over the limit.
    pub fn shed(&self) -> u64 {
        self.shed.get()
    }

    /// Stops accepting, lets in-flight requests finish (at most the drain timeout), and waits for
    /// the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = join.await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` and serves `app` (each request carries `ConnectInfo<SocketAddr>`) until shut down.
pub async fn serve(addr: SocketAddr, app: axum::Router, limits: Limits) -> std::io::Result<Served> {
    let listener = TcpListener::bind(addr).await?;
    serve_listener(listener, app, limits, |stream| stream).await
}

/// [`serve`] on a bound listener, each accepted socket wrapped by `wrap` (the Runtime API's re-arms
/// quick ACKs after every read).
pub(crate) async fn serve_listener<Io>(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    wrap: impl Fn(TcpStream) -> Io + Send + Sync + 'static,
) -> std::io::Result<Served>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let addr = listener.local_addr()?;
    let shed = ShedCounter::default();
    let (shutdown, stop) = oneshot::channel::<()>();
    let join = tokio::spawn(accept_loop(listener, app, limits, wrap, shed.clone(), stop));
    Ok(Served {
        addr,
        // A wildcard bind still prints a loopback URL (the same rule the fakes follow, from one place).
        url: format!("http://{}", fake_gemini::reachable(addr)),
        shed,
        shutdown: Some(shutdown),
        join: Some(join),
    })
}

async fn accept_loop<Io>(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    wrap: impl Fn(TcpStream) -> Io,
    shed: ShedCounter,
    mut stop: oneshot::Receiver<()>,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shed.0.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        // Without TCP_NODELAY a streamed response's last chunk waits on the peer's delayed ACK (~40 ms)
        // once a keep-alive connection leaves quick-ACK mode.
        let _ = stream.set_nodelay(true);
        let io = wrap(stream);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: axum::http::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(io), service);
        let watched = graceful.watch(connection);
        connections.spawn(async move {
            let _ = watched.await;
            drop(permit);
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await;
    if drained.is_err() {
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Over the limit.
    #[error("the body is over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The framing is broken (bad chunked encoding, a connection cut mid-body).
    #[error("the body is malformed: {0}")]
    Malformed(String),
    /// Nothing arrived for the body idle timeout.
    #[error("the body stopped arriving for {0:?}")]
    Stalled(Duration),
}

/// Reads a whole request body: at most `limit` bytes, no gap longer than `idle` between frames.
pub async fn read_body(body: Body, limit: usize, idle: Duration) -> Result<Bytes, BodyError> {
    read_body_draining(body, limit, 0, idle).await
}

/// [`read_body`], but a body over `limit` is read on (and thrown away) up to `drain` more bytes before
/// `TooLarge` is answered — so a client still sending gets the refusal instead of a broken pipe.
pub async fn read_body_draining(
    body: Body,
    limit: usize,
    drain: usize,
    idle: Duration,
) -> Result<Bytes, BodyError> {
    let mut body = body;
    let mut out = BytesMut::new();
    let mut over = 0usize;
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(BodyError::Stalled(idle)),
            Ok(None) => break,
            Ok(Some(Err(error))) => return Err(BodyError::Malformed(error.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if over > 0 || out.len() + data.len() > limit {
            over = over.saturating_add(data.len());
            if over > drain {
                return Err(BodyError::TooLarge { limit });
            }
        } else {
            out.extend_from_slice(&data);
        }
    }
    if over > 0 {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(out.freeze())
}

/// The headers as (name, value) pairs, in arrival order (SigV4 and the event need them so).
pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
