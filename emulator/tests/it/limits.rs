//! Every listener of the chain sheds what a real server sheds: a silent connection, a half-sent request
//! head and an idle keep-alive are closed after the header-read timeout; past the connection limit a
//! new connection is closed at accept; the chain keeps serving afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use emulator::chain::Chain;
use emulator::server::Limits;
use fake_gemini::Scenario;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::real_function;

const BOUND: Duration = Duration::from_secs(10);

async fn chain(limits: Limits) -> Chain {
    let mut config =
        emulator::testing::chain_config(real_function(), vec![Scenario::stream(["ok"])]);
    config.limits = limits;
    config.site_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    Chain::start(config).await.unwrap()
}

fn listeners(chain: &Chain) -> Vec<(&'static str, SocketAddr)> {
    vec![
        ("edge", chain.edge.addr()),
        ("function URL", chain.url.addr()),
        ("SSM", chain.ssm.addr()),
        ("fake-cognito", chain.cognito.addr()),
        ("fake-gemini", chain.gemini.addr()),
        ("site", chain.site.as_ref().unwrap().addr()),
    ]
}

/// Reads until the server closes the connection (bounded: fails with `what` otherwise).
async fn closed_by_server(stream: &mut TcpStream, what: &str) {
    let mut buffer = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, read_to_end)
        .await
        .unwrap_or_else(|_| panic!("{what}: still open after {BOUND:?}"));
}

#[tokio::test]
async fn silent_half_sent_and_idle_connections_are_closed_on_every_listener() {
    let chain = chain(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    for (name, addr) in listeners(&chain) {
        let mut silent = TcpStream::connect(addr).await.unwrap();
        closed_by_server(&mut silent, &format!("{name}: a silent connection")).await;
        let mut half = TcpStream::connect(addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        closed_by_server(&mut half, &format!("{name}: a half-sent head")).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        closed_by_server(&mut idle, &format!("{name}: an idle keep-alive")).await;
    }
    // Still serving.
    let (client, token) = emulator::testing::demo_client(&chain).await;
    let answer = client
        .send(
            &emulator::client::question("hi"),
            &token,
            &emulator::client::Options::default(),
        )
        .await
        .unwrap();
    assert!(matches!(answer, emulator::client::Answer::Stream(_)));
}

#[tokio::test]
async fn connections_over_the_limit_are_shed_at_accept() {
    let chain = chain(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    for (name, addr) in listeners(&chain) {
        let held: Vec<TcpStream> = vec![
            TcpStream::connect(addr).await.unwrap(),
            TcpStream::connect(addr).await.unwrap(),
        ];
        // Let the listener accept the two before the third arrives.
        let mut probe = TcpStream::connect(addr).await.unwrap();
        probe
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .ok();
        closed_by_server(&mut probe, &format!("{name}: the third connection")).await;
        drop(held);
    }
    assert!(chain.edge.shed() >= 1 && chain.url.shed() >= 1);
}
