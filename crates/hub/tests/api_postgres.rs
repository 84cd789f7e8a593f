//! The backend-independent scenarios against PostgreSQL (`WFM_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets its own database, dropped after.

mod common;

use axum::http::StatusCode;
use common::{scenarios, TestHub};

#[tokio::test]
async fn postgres_unauthorized_requests_learn_nothing() {
    scenarios::unauthorized_requests_learn_nothing(&TestHub::postgres().await).await;
}

#[tokio::test]
async fn postgres_sync_then_read_back() {
    scenarios::sync_then_read_back(&TestHub::postgres().await).await;
}

#[tokio::test]
async fn postgres_projects_are_isolated() {
    scenarios::projects_are_isolated(&TestHub::postgres().await).await;
}

#[tokio::test]
async fn postgres_replay_returns_the_same_answer() {
    scenarios::replay_returns_the_same_answer(&TestHub::postgres().await).await;
}

#[tokio::test]
async fn postgres_healthz_reports_postgres() {
    let hub = TestHub::postgres().await;
    let resp = hub.get("/healthz", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json()["storage"], "postgres");
}

#[tokio::test]
async fn people_are_linked_across_sources() {
    scenarios::people_are_linked_across_sources(&TestHub::postgres().await).await;
}
