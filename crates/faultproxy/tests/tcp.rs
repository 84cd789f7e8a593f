//! Raw TCP fault modes against a loopback echo server.

mod common;

use std::time::{Duration, Instant};

use common::{echo_server, is_closed, payload, read_up_to};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wfm_faultproxy::{FaultMode, FaultProxy, HttpFault, ProxyError};

const WAIT: Duration = Duration::from_secs(2);

async fn echo_once(stream: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    stream.write_all(data).await.unwrap();
    tokio::time::timeout(WAIT, read_up_to(stream, data.len()))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn pass_through_is_byte_exact_and_stats_add_up() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let data = payload(200_000);
    let mut total = 0u64;
    for _ in 0..3 {
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let (mut read, mut write) = stream.split();
        let sender = async {
            write.write_all(&data).await.unwrap();
        };
        let receiver = async {
            let mut got = vec![0u8; data.len()];
            read.read_exact(&mut got).await.unwrap();
            got
        };
        let (_, got) = tokio::join!(sender, receiver);
        assert!(got == data, "echo through the proxy is not byte-exact");
        total += data.len() as u64;
    }
    let stats = proxy.stats();
    assert_eq!(stats.connections_accepted, 3);
    assert_eq!(stats.bytes_to_upstream, total);
    assert_eq!(stats.bytes_to_client, total);
    assert_eq!(stats.faults_applied(), 0);
}

#[tokio::test]
async fn latency_is_added_each_way() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    proxy.set(FaultMode::Latency {
        per_chunk: Duration::from_millis(100),
    });
    let started = Instant::now();
    assert_eq!(echo_once(&mut stream, b"ping").await, b"ping");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190),
        "round trip took only {elapsed:?}"
    );
    proxy.set(FaultMode::Pass);
    let started = Instant::now();
    assert_eq!(echo_once(&mut stream, b"pong").await, b"pong");
    assert!(
        started.elapsed() < Duration::from_millis(180),
        "latency not removed"
    );
}

#[tokio::test]
async fn reset_mode_resets_new_connections() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    proxy.set(FaultMode::Reset);
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let _ = stream.write_all(b"hello").await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected reset/EOF, got {read:?}"
    );
    assert_eq!(proxy.stats().resets, 1);
    proxy.set(FaultMode::Pass);
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_once(&mut stream, b"again").await, b"again");
}

#[tokio::test]
async fn reset_mode_resets_existing_connection_on_next_chunk() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_once(&mut stream, b"one").await, b"one");
    proxy.set(FaultMode::Reset);
    let _ = stream.write_all(b"two").await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .unwrap();
    match read {
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => assert_eq!(n, 0, "data leaked through a reset"),
    }
    assert_eq!(proxy.stats().resets, 1);
}

#[tokio::test]
async fn cut_refuses_and_drops_then_pass_restores() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let mut existing = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_once(&mut existing, b"up").await, b"up");
    proxy.set(FaultMode::Cut);
    assert!(
        is_closed(&mut existing, WAIT).await,
        "existing connection survived a cut"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    match TcpStream::connect(proxy.addr()).await {
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused),
        Ok(mut stream) => assert!(is_closed(&mut stream, WAIT).await),
    }
    assert_eq!(proxy.stats().cut_drops, 1);
    proxy.set(FaultMode::Pass);
    let deadline = Instant::now() + WAIT;
    let mut stream = loop {
        match TcpStream::connect(proxy.addr()).await {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(error) => panic!("service not restored: {error}"),
        }
    };
    assert_eq!(echo_once(&mut stream, b"back").await, b"back");
}

#[tokio::test]
async fn blackhole_hangs_the_client() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    proxy.set(FaultMode::Blackhole);
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream.write_all(b"anyone?").await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(read.is_err(), "blackhole answered: {read:?}");
    let stats = proxy.stats();
    assert_eq!(stats.blackholed, 1);
    assert_eq!(stats.bytes_to_upstream, 0);
}

#[tokio::test]
async fn blackhole_swallows_an_existing_connection() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo_once(&mut stream, b"one").await, b"one");
    proxy.set(FaultMode::Blackhole);
    stream.write_all(b"two").await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(read.is_err(), "blackhole answered: {read:?}");
}

#[tokio::test]
async fn truncate_cuts_the_response_after_n_bytes() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    proxy.set(FaultMode::TruncateResponses { after_bytes: 1000 });
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let data = payload(5000);
    stream.write_all(&data).await.unwrap();
    let got = tokio::time::timeout(WAIT, read_up_to(&mut stream, data.len()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1000);
    assert_eq!(got[..], data[..1000]);
    let stats = proxy.stats();
    assert_eq!(stats.truncated, 1);
    assert_eq!(stats.bytes_to_client, 1000);
}

#[tokio::test]
async fn bandwidth_is_roughly_honoured() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    proxy.set(FaultMode::Bandwidth {
        bytes_per_sec: 50_000,
    });
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let data = payload(25_000);
    let started = Instant::now();
    let (mut read, mut write) = stream.split();
    let sender = async { write.write_all(&data).await.unwrap() };
    let receiver = async {
        let mut got = vec![0u8; data.len()];
        read.read_exact(&mut got).await.unwrap();
        got
    };
    let (_, got) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(sender, receiver)
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert!(got == data);
    // 25 kB at 50 kB/s is 0.5 s per direction (pipelined); allow wide slack on a busy box.
    assert!(
        elapsed >= Duration::from_millis(400),
        "too fast: {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_millis(3000),
        "too slow: {elapsed:?}"
    );
}

#[tokio::test]
async fn set_for_reverts_to_pass() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    proxy.set_for(FaultMode::Reset, Duration::from_millis(150));
    assert_eq!(proxy.mode(), FaultMode::Reset);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(proxy.mode(), FaultMode::Pass);
    // A later explicit set is not undone by an older schedule.
    proxy.set_for(FaultMode::Blackhole, Duration::from_millis(100));
    proxy.set(FaultMode::Cut);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.mode(), FaultMode::Cut);
}

#[tokio::test]
async fn upstream_down_resets_the_client() {
    let dead = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let proxy = FaultProxy::spawn(dead, None).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert!(is_closed(&mut stream, WAIT).await);
    assert_eq!(proxy.stats().upstream_connect_failures, 1);
}

#[tokio::test]
async fn shutdown_closes_existing_connections() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let addr = proxy.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(echo_once(&mut stream, b"hi").await, b"hi");
    proxy.shutdown().await;
    assert!(is_closed(&mut stream, WAIT).await);
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn http_faults_are_rejected_on_a_tcp_proxy() {
    let proxy = FaultProxy::spawn(echo_server().await, None).await.unwrap();
    let fault = HttpFault::Status {
        code: 503,
        retry_after: None,
        times: 1,
    };
    assert!(matches!(proxy.inject(fault), Err(ProxyError::NotHttp)));
}
