//! The OpenAPI document describes every route the router serves: the handlers registered in
//! `src/lib.rs` and `src/scim/mod.rs` equal the route table's (so a new route without a row
//! fails here), every documented operation is served (not the 404/405 fallback), and the
//! document is served without a token at `/api/v1/openapi.json`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::TestHub;
use std::collections::BTreeSet;
use wfm_hub::openapi::{self, Auth, ROUTES};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, handler)` pairs of every `get(h)`, `.post(h)` … call in a router source file.
fn registered(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for method in METHODS {
        let needle = format!("{method}(");
        let mut rest = source;
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + needle.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(end) = after.find(')') else { continue };
            let handler = after[..end].trim();
            let plain = handler
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == ':');
            if handler.contains("::") && plain {
                found.insert((method.to_string(), format!("{prefix}{handler}")));
            }
        }
    }
    found
}

fn source(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

#[test]
fn every_router_handler_has_a_row_in_the_openapi_table() {
    let mut served = registered(&source("src/lib.rs"), "");
    served.extend(registered(&source("src/scim/mod.rs"), "scim:"));
    assert!(
        served.len() > 40,
        "the source scan found too little: {served:?}"
    );
    let documented: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| {
            let handler = if r.path.starts_with("/scim/") {
                format!("scim:{}", r.handler)
            } else {
                r.handler.to_string()
            };
            (r.method.to_string(), handler)
        })
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes served but not in crates/hub/src/openapi/table.rs (add a row): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows in crates/hub/src/openapi/table.rs that the router does not serve: {stale:?}"
    );
}

#[test]
fn every_operation_is_in_the_document_with_responses_and_security() {
    let doc = openapi::document_json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method];
        assert!(op.is_object(), "{} {} missing", route.method, route.path);
        let responses = &op["responses"];
        assert!(responses[route.ok.to_string()].is_object(), "{route:?}");
        if route.auth == Auth::Bearer {
            for status in ["401", "403", "429"] {
                assert!(
                    responses[status].is_object(),
                    "{} {} lacks {status}",
                    route.method,
                    route.path
                );
            }
            assert_eq!(op["security"][0]["bearerAuth"], serde_json::json!([]));
        } else {
            assert_eq!(op["security"], serde_json::json!([]));
        }
        if route.path.contains("{id}") {
            assert!(
                responses["404"].is_object(),
                "{} {} lacks 404",
                route.method,
                route.path
            );
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_the_document_needs_no_token() {
    let hub = TestHub::sqlite().await;
    for route in ROUTES {
        let path = route.path.replace("{id}", "x");
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes())
            .unwrap_or_else(|e| panic!("method {}: {e}", route.method));
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("request {path}: {e}"));
        let resp = hub.send(request).await;
        assert_ne!(
            resp.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}",
            route.method
        );
        let fallback =
            resp.status == StatusCode::NOT_FOUND && resp.text().contains("no such endpoint");
        assert!(
            !fallback,
            "{} {path} hit the fallback: {}",
            route.method,
            resp.text()
        );
        if route.auth == Auth::Bearer {
            // Without a token: 401, or 429 once the failure limiter holds this address.
            let refused = [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS];
            assert!(
                refused.contains(&resp.status),
                "{} {path}: {}",
                route.method,
                resp.status
            );
        }
    }
    let resp = hub.get(openapi::OPENAPI_PATH, None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json(), openapi::document_json());
}
