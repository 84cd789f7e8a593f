//! Shared cloud plumbing: OAuth token flow and refresh, 401 handling, 429 with `Retry-After`,
//! retries, malformed JSON, URL safety and the paging guards.

use super::test_server::{
    assert_no_secret, oauth_config, serve, static_config, token_reply, Reply, Server,
};
use super::*;
use crate::error::SourceError;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wfm_config::CloudConfig;
use wfm_telemetry::Metrics;

fn no_errors(_: &[u8]) -> Option<Vec<crate::uccx::ApiError>> {
    None
}

fn http(cfg: &CloudConfig) -> CloudHttp {
    let mut settings = CloudSettings::from_config(Platform::Graph, cfg).unwrap();
    settings.retry.base = Duration::from_millis(1);
    settings.retry.max = Duration::from_millis(5);
    CloudHttp::new(settings, Metrics::new()).unwrap()
}

async fn get(h: &CloudHttp, path: &str) -> Result<Fetched<serde_json::Value>, SourceError> {
    h.get_json(&h.url(path), "user", "page 0", no_errors).await
}

/// A token endpoint handing out `tok-1`, `tok-2`, … and an API accepting only `accept(token)`.
async fn oauth_server(
    expires_in: u64,
    accept: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> (Server, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let server = serve(move |_, req| {
        if req.path == "/token" {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            return token_reply(&format!("tok-{n}"), expires_in);
        }
        match req.bearer() {
            Some(t) if accept(&t) => Reply::ok(r#"{"value":[]}"#),
            _ => Reply::json(
                401,
                r#"{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}"#,
            ),
        }
    })
    .await;
    (server, issued)
}

#[tokio::test]
async fn oauth_client_credentials_are_posted_once_and_the_token_is_cached() {
    let (server, issued) = oauth_server(3600, |_| true).await;
    let h = http(&oauth_config(&server.base));
    get(&h, "/v1.0/users").await.unwrap();
    get(&h, "/v1.0/users").await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    let reqs = server.requests();
    let token_req = &reqs[0];
    assert_eq!(token_req.method, "POST");
    assert_eq!(
        token_req.form("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(token_req.form("client_id").as_deref(), Some("client-1"));
    assert_eq!(
        token_req.form("client_secret").as_deref(),
        Some(super::test_server::CLIENT_SECRET)
    );
    assert_eq!(token_req.form("scope").as_deref(), Some("cjp:config_read"));
    assert_eq!(reqs[1].bearer().as_deref(), Some("tok-1"));
    assert_eq!(reqs[2].bearer().as_deref(), Some("tok-1"));
}

#[tokio::test]
async fn the_token_is_refreshed_sixty_seconds_before_it_expires() {
    let (server, issued) = oauth_server(3600, |_| true).await;
    let start = Instant::now();
    let offset = Arc::new(AtomicU64::new(0));
    let o = offset.clone();
    let clock: Clock = Arc::new(move || start + Duration::from_secs(o.load(Ordering::SeqCst)));
    let h = http(&oauth_config(&server.base));
    let tokens =
        TokenProvider::new(h.settings(), h.http_client().clone(), Metrics::new()).with_clock(clock);
    let h = h.with_tokens(tokens);
    get(&h, "/a").await.unwrap();
    offset.store(3500, Ordering::SeqCst);
    get(&h, "/a").await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 1, "still fresh at 3500 s");
    offset.store(3541, Ordering::SeqCst);
    get(&h, "/a").await.unwrap();
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "refreshed inside the 60 s margin"
    );
    assert_eq!(
        server.requests().last().unwrap().bearer().as_deref(),
        Some("tok-2")
    );
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once_and_succeeds() {
    // tok-1 was revoked early; tok-2 works.
    let (server, issued) = oauth_server(3600, |t| t != "tok-1").await;
    let h = http(&oauth_config(&server.base));
    let got = get(&h, "/a").await.unwrap();
    assert_eq!(got.requests, 2);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_after_the_refresh_fails_cleanly_naming_the_oauth_keys() {
    let (server, issued) = oauth_server(3600, |_| false).await;
    let h = http(&oauth_config(&server.base));
    let err = get(&h, "/a").await.unwrap_err();
    assert_eq!(err.error_type(), "unauthorized");
    assert!(!err.is_retriable());
    let text = err.to_string();
    assert!(text.contains("graph.oauth.client_id"), "{text}");
    assert!(text.contains("freshly fetched"), "{text}");
    assert_no_secret(&text);
    assert_eq!(issued.load(Ordering::SeqCst), 2, "one refresh, no more");
    assert_eq!(server.count("/a"), 2);
}

#[tokio::test]
async fn a_wrong_static_token_is_unauthorized_without_retries() {
    let server =
        serve(|_, _| Reply::json(401, r#"{"code":124,"message":"Invalid access token."}"#)).await;
    let h = http(&static_config(&server.base));
    let err = get(&h, "/a").await.unwrap_err();
    assert_eq!(err.error_type(), "unauthorized");
    let text = err.to_string();
    assert!(text.contains("graph.token"), "{text}");
    assert_no_secret(&text);
    assert_eq!(server.count("/a"), 1);
}

#[tokio::test]
async fn refused_client_credentials_name_the_keys_and_never_the_secret() {
    // A hostile token endpoint that echoes the secret back.
    let server = serve(|_, req| {
        Reply::json(
            401,
            format!(
                r#"{{"error":"invalid_client","error_description":"bad secret {}"}}"#,
                req.form("client_secret").unwrap_or_default()
            ),
        )
    })
    .await;
    let h = http(&oauth_config(&server.base));
    let err = get(&h, "/a").await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.error_type(), "unauthorized");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(text.contains("graph.oauth.client_secret"), "{text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
    assert_eq!(server.count("/a"), 0);
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let server = serve(|n, _| {
        if n == 0 {
            Reply::json(429, "{}").header("retry-after", "1")
        } else {
            Reply::ok("[1]")
        }
    })
    .await;
    let h = http(&static_config(&server.base));
    let started = Instant::now();
    let got = get(&h, "/a").await.unwrap();
    let waited = started.elapsed();
    assert_eq!(got.requests, 2);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_and_persistent_throttling_is_reported() {
    let server = serve(|_, _| Reply::json(429, "{}").header("retry-after", "86400")).await;
    let mut settings =
        CloudSettings::from_config(Platform::Zoom, &static_config(&server.base)).unwrap();
    settings.max_retry_after = Duration::from_millis(50);
    settings.retry.retries = 2;
    let h = CloudHttp::new(settings, Metrics::new()).unwrap();
    let started = Instant::now();
    let err = get(&h, "/a").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.error_type(), "throttled");
    assert!(err.is_retriable());
    assert_eq!(server.count("/a"), 3, "each 429 uses up a retry");
}

#[tokio::test]
async fn server_errors_are_retried_and_malformed_json_is_not() {
    let server = serve(|n, req| match req.path.as_str() {
        "/flaky" if n == 0 => Reply::json(503, "unavailable"),
        "/flaky" => Reply::ok(r#"{"ok":true}"#),
        _ => Reply::ok(r#"{"value":[{"id":"1",}"#),
    })
    .await;
    let h = http(&static_config(&server.base));
    assert_eq!(get(&h, "/flaky").await.unwrap().requests, 2);
    let err = get(&h, "/broken").await.unwrap_err();
    assert_eq!(err.error_type(), "malformed");
    let text = err.to_string();
    assert!(
        text.contains("/broken") && text.contains("page 0") && text.contains("line 1"),
        "{text}"
    );
    assert_eq!(server.count("/broken"), 1);
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let mut cfg = static_config("http://127.0.0.1:9");
    cfg.allow_insecure_http = false;
    let err = CloudSettings::from_config(Platform::Webex, &cfg).unwrap_err();
    assert_eq!(err.error_type(), "config");
    assert!(err.to_string().contains("webex.base_url"));
    let mut cfg = oauth_config("https://api.example.com");
    cfg.allow_insecure_http = false;
    cfg.oauth.as_mut().unwrap().token_url = "http://login.example.com/token".into();
    let err = CloudSettings::from_config(Platform::Graph, &cfg).unwrap_err();
    assert!(err.to_string().contains("graph.oauth.token_url"));
    assert_no_secret(&err.to_string());
    let mut cfg = static_config("https://api.example.com/");
    cfg.allow_insecure_http = false;
    let s = CloudSettings::from_config(Platform::Zoom, &cfg).unwrap();
    assert_eq!(s.base_url, "https://api.example.com");
    assert_eq!(s.page_size, 300);
    let mut cfg = static_config("https://api.example.com");
    cfg.page_size = Some(301);
    assert!(CloudSettings::from_config(Platform::Zoom, &cfg).is_err());
}

#[tokio::test]
async fn next_links_stay_on_the_base_origin() {
    let h = http(&static_config("https://graph.example.com"));
    assert_eq!(
        h.resolve_link("https://graph.example.com/v1.0/users?$skiptoken=x", "w")
            .unwrap(),
        "https://graph.example.com/v1.0/users?$skiptoken=x"
    );
    assert_eq!(
        h.resolve_link("/organization/o/v2/user?page=1", "w")
            .unwrap(),
        "https://graph.example.com/organization/o/v2/user?page=1"
    );
    for bad in [
        "https://evil.example.net/v1.0/users",
        "https://graph.example.com.evil.net/v1.0/users",
        "relative/path",
    ] {
        assert_eq!(
            h.resolve_link(bad, "w").unwrap_err().error_type(),
            "malformed",
            "{bad}"
        );
    }
}

#[test]
fn page_collector_detects_loops_dedupes_and_limits_empty_pages() {
    let mut p: PageCollector<(&str, u8)> = PageCollector::new("test users", 3, 100);
    p.visit("a").unwrap();
    p.add_page(vec![("1", 0), ("2", 0)], 1, |x| x.0, true)
        .unwrap();
    p.visit("b").unwrap();
    assert_eq!(
        p.add_page(vec![("2", 1), ("3", 1)], 1, |x| x.0, true)
            .unwrap(),
        1
    );
    assert_eq!(p.visit("a").unwrap_err().error_type(), "malformed");
    p.visit("c").unwrap();
    p.add_page(vec![], 1, |x| x.0, true).unwrap();
    p.add_page(vec![], 1, |x| x.0, true).unwrap();
    let err = p.add_page(vec![], 1, |x| x.0, true).unwrap_err();
    assert!(
        err.to_string().contains("3 consecutive empty pages"),
        "{err}"
    );
    let mut p: PageCollector<(&str, u8)> = PageCollector::new("test users", 3, 2);
    p.visit("a").unwrap();
    p.add_page(vec![("1", 0), ("1", 1)], 2, |x| x.0, false)
        .unwrap();
    let report = p.finish();
    assert_eq!(report.items, vec![("1", 0)]);
    assert_eq!(report.requests, 2);
    assert!(
        report.warnings[0].contains("de-duplicated"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn query_values_and_path_segments_are_encoded() {
    assert_eq!(
        with_query("/v2/users?a=1", "next_page_token", "x y&z"),
        "/v2/users?a=1&next_page_token=x%20y%26z"
    );
    assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
}
