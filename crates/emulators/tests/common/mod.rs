//! Helpers shared by the cloud emulator tests (Webex CC, Zoom, Graph).

#![allow(dead_code)]

use serde_json::Value;
use wfm_emulators::{DatasetSpec, EmulatorHandle, SharedData};

/// A small data set with `agents` agents.
pub fn data(agents: usize) -> SharedData {
    SharedData::generate(&DatasetSpec {
        agents,
        supervisors: 3,
        teams: 4,
        skills: 3,
        ..DatasetSpec::default()
    })
}

/// One reply, fully read.
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// `GET url` with a bearer token.
pub async fn get_url(url: &str, token: &str) -> Reply {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    Reply {
        status,
        retry_after,
        body: resp.text().await.expect("body"),
    }
}

/// `GET {base}{path}` with a bearer token.
pub async fn get(h: &EmulatorHandle, path: &str, token: &str) -> Reply {
    get_url(&format!("{}{path}", h.base_url()), token).await
}
