//! `wfm-emulator webex|zoom|graph`: options and start-up of the cloud directory emulators.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use wfm_emulators::graph::{GraphConfig, GraphEmulator};
use wfm_emulators::oauth::{CloudControl, OAuthConfig, TOKEN_PATH};
use wfm_emulators::webex::{WebexConfig, WebexEmulator};
use wfm_emulators::zoom::{ZoomConfig, ZoomEmulator};
use wfm_emulators::{EmulatorHandle, SharedData};

use crate::Common;

/// Options of the cloud subcommands.
#[derive(Args, Clone)]
pub struct CloudArgs {
    #[command(flatten)]
    pub common: Common,
    /// OAuth client id accepted by `POST /oauth/token`.
    #[arg(long, default_value = "wfm-demo-client")]
    pub client_id: String,
    /// OAuth client secret accepted by `POST /oauth/token`.
    #[arg(long, default_value = "wfm-demo-secret")]
    pub client_secret: String,
    /// A bearer token that is always accepted.
    #[arg(long, default_value = "wfm-demo-static-token")]
    pub static_token: String,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime_secs: u64,
    /// Webex organization id.
    #[arg(long, default_value = wfm_emulators::webex::DEFAULT_ORG_ID)]
    pub org_id: String,
    /// Answer 429 to every N-th API request (0: never).
    #[arg(long, default_value_t = 0)]
    pub throttle_every: usize,
    /// `Retry-After` seconds on those 429s.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
}

/// Which cloud platform.
#[derive(Clone, Copy)]
pub enum Cloud {
    Webex,
    Zoom,
    Graph,
}

fn auth(a: &CloudArgs, base: OAuthConfig) -> OAuthConfig {
    OAuthConfig {
        client_id: a.client_id.clone(),
        client_secret: a.client_secret.clone(),
        static_token: Some(a.static_token.clone()),
        token_lifetime: Duration::from_secs(a.token_lifetime_secs),
        ..base
    }
}

/// Starts one cloud emulator and prints how to reach it.
pub async fn start(
    which: Cloud,
    a: &CloudArgs,
    data: SharedData,
    tls: Option<(String, String)>,
) -> anyhow::Result<EmulatorHandle> {
    let c = &a.common;
    let control = CloudControl::default();
    control.set_faults(|k| {
        k.throttle_every = (a.throttle_every > 0).then_some(a.throttle_every);
        k.retry_after_secs = a.retry_after_secs;
    });
    let bind = Some(SocketAddr::new(c.host, c.port));
    let latency = Duration::from_millis(c.latency_ms);
    let (h, name, api) = match which {
        Cloud::Webex => {
            let d = WebexConfig::default();
            let cfg = WebexConfig {
                org_id: a.org_id.clone(),
                auth: auth(a, d.auth.clone()),
                control,
                latency,
                tls,
                bind,
                ..d
            };
            let h = WebexEmulator::spawn(cfg, data).await;
            let api = format!(
                "/organization/{}/user (v1), /organization/{}/v2/user (v2)  org id={}  scope=cjp:config_read",
                a.org_id, a.org_id, a.org_id
            );
            (h, "Webex Contact Center", api)
        }
        Cloud::Zoom => {
            let d = ZoomConfig::default();
            let cfg = ZoomConfig {
                auth: auth(a, d.auth.clone()),
                control,
                latency,
                tls,
                bind,
                ..d
            };
            let h = ZoomEmulator::spawn(cfg, data).await;
            (h, "Zoom", "/v2/users, /v2/groups".to_string())
        }
        Cloud::Graph => {
            let d = GraphConfig::default();
            let cfg = GraphConfig {
                auth: auth(a, d.auth.clone()),
                control,
                latency,
                tls,
                bind,
                ..d
            };
            let h = GraphEmulator::spawn(cfg, data).await;
            (
                h,
                "Microsoft Graph",
                "/v1.0/users, /v1.0/groups".to_string(),
            )
        }
    };
    let h = h.with_context(|| format!("starting the {name} emulator"))?;
    println!("{name}: {}  API: {api}", h.base_url());
    println!(
        "token endpoint: {}{TOKEN_PATH}  client_id={} client_secret={}  static token: {}",
        h.base_url(),
        a.client_id,
        a.client_secret,
        a.static_token
    );
    Ok(h)
}
