//! HTTP-level faults and TCP faults against a loopback axum server.

mod common;

use std::time::Duration;

use common::{get_req, http_server, request, BIG};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use wfm_faultproxy::{FaultMode, FaultProxy, HttpFault};

const WAIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn status_429_with_retry_after_for_n_requests_then_pass() {
    let proxy = FaultProxy::spawn_http(http_server().await, None)
        .await
        .unwrap();
    proxy
        .inject(HttpFault::Status {
            code: 429,
            retry_after: Some(3),
            times: 2,
        })
        .unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let post = b"POST /echo HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\n\r\nbatch";
    for _ in 0..2 {
        let response = tokio::time::timeout(WAIT, request(&mut stream, post))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.status, 429);
        assert_eq!(response.retry_after.as_deref(), Some("3"));
    }
    // Same keep-alive connection: the discarded bodies did not desynchronise it.
    let response = tokio::time::timeout(WAIT, request(&mut stream, post))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"batch");
    let response = tokio::time::timeout(WAIT, request(&mut stream, &get_req("/hello")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"hello"[..])
    );
    let stats = proxy.stats();
    assert_eq!(stats.http_injected, 2);
    assert_eq!(stats.faults_applied(), 2);
    assert_eq!(stats.connections_accepted, 1);
}

#[tokio::test]
async fn status_503_swallows_a_chunked_body() {
    let proxy = FaultProxy::spawn_http(http_server().await, None)
        .await
        .unwrap();
    proxy
        .inject(HttpFault::Status {
            code: 503,
            retry_after: None,
            times: 1,
        })
        .unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let chunked =
        b"POST /echo HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let response = tokio::time::timeout(WAIT, request(&mut stream, chunked))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status, 503);
    assert_eq!(response.retry_after, None);
    let response = tokio::time::timeout(WAIT, request(&mut stream, chunked))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"abcde");
}

#[tokio::test]
async fn truncated_http_response_has_a_short_body() {
    let proxy = FaultProxy::spawn(http_server().await, None).await.unwrap();
    proxy.set(FaultMode::TruncateResponses { after_bytes: 500 });
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let result = tokio::time::timeout(WAIT, request(&mut stream, &get_req("/big")))
        .await
        .unwrap();
    let error = result.expect_err("a truncated response must not parse as complete");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    assert_eq!(proxy.stats().bytes_to_client, 500);
}

#[tokio::test]
async fn http_proxy_passes_through_and_counts_bytes() {
    let proxy = FaultProxy::spawn_http(http_server().await, None)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let req = get_req("/big");
    let response = tokio::time::timeout(WAIT, request(&mut stream, &req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), BIG);
    let stats = proxy.stats();
    assert_eq!(stats.bytes_to_upstream, req.len() as u64);
    assert!(stats.bytes_to_client > BIG as u64);
    assert_eq!(stats.faults_applied(), 0);
}
