//! What the edge, the Function URL and SSM share as HTTP servers: binding, serving an axum app (with
//! the peer's address) until shut down, and reading a request's headers in arrival order.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use axum::serve::ListenerExt;
use tokio::sync::oneshot;

/// A server running on a bound address.
#[derive(Debug)]
pub(crate) struct Served {
    pub addr: SocketAddr,
    pub shutdown: oneshot::Sender<()>,
    pub join: tokio::task::JoinHandle<()>,
}

/// Binds `addr` and serves `app` until `shutdown` fires (in-flight requests finish).
pub(crate) async fn serve(addr: SocketAddr, app: axum::Router) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    // Without TCP_NODELAY a streamed response's last chunk waits on the peer's delayed ACK (~40 ms)
    // once a keep-alive connection leaves quick-ACK mode: every reused edge→URL request paid it.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let (shutdown, stop) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop.await;
        })
        .await;
    });
    Ok(Served {
        addr,
        shutdown,
        join,
    })
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
