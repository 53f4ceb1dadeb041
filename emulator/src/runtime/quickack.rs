//! The Runtime API's sockets: TCP_QUICKACK re-armed after every read (TCP_NODELAY comes with every
//! listener).
//!
//! The function's runtime client (`lambda_runtime`) writes a streamed response as several small writes
//! without TCP_NODELAY, so Nagle holds each write until the previous one is ACKed. Linux delays ACKs on
//! a warm connection by up to 40 ms, which stalled every warm invocation's response by ~40 ms. The
//! kernel clears QUICKACK by itself, hence re-arming it after each read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

fn arm(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

/// A TCP stream that re-arms TCP_QUICKACK after each read.
pub(crate) struct QuickAckStream(TcpStream);

impl QuickAckStream {
    /// Wraps an accepted stream, quick ACKs armed.
    pub(crate) fn new(stream: TcpStream) -> Self {
        arm(&stream);
        Self(stream)
    }
}

impl AsyncRead for QuickAckStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        if polled.is_ready() {
            arm(&self.0);
        }
        polled
    }
}

impl AsyncWrite for QuickAckStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
