//! How a built history window reaches the hub: directly (a job without a delivery service, as
//! libraries and the demo use it) or through the process's outbox (`wfm-importer`).
//!
//! Through the outbox, the window's body is appended with the source's new position (the
//! [`SourceState`] as JSON) as the outbox checkpoint; the position is read back from that
//! checkpoint (falling back to the legacy state file on the first start, so existing installs
//! keep their place), and the state file is kept as a mirror after every append. In `run` the
//! job does not wait for the hub; one-shot commands wait for each window's answer.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wfm_protocol::intervals::TimeRange;

use super::state::{SourceState, StateFile};
use super::{fmt_range, HistoryImportError, HistoryJob};
use crate::delivery::{Delivery, DeliveryError, Final, Kind};
use crate::error::HubError;

/// How a job delivers its windows.
#[derive(Clone)]
pub(crate) struct Through {
    pub delivery: Arc<Delivery>,
    /// Wait for the hub's answer to every window (one-shot commands).
    pub wait: bool,
}

impl HistoryJob {
    /// Sends every window through `delivery`'s outbox; `wait` = wait for the hub's answer to each
    /// window (one-shot commands) instead of going on once it is appended (`run`).
    pub fn with_delivery(mut self, delivery: Arc<Delivery>, wait: bool) -> Self {
        self.through = Some(Through { delivery, wait });
        self
    }

    pub(crate) fn state_file(&self, kind: Kind) -> &StateFile {
        match kind {
            Kind::States => &self.states,
            _ => &self.state,
        }
    }

    /// The position of `kind` (intervals or states): the outbox checkpoint, else the state file.
    pub(crate) fn position(&self, kind: Kind) -> Result<SourceState, HistoryImportError> {
        if let Some(t) = &self.through {
            if let Some(bytes) = t.delivery.checkpoint(kind, self.cfg.source_id.as_str()) {
                return serde_json::from_slice(&bytes).map_err(|e| {
                    self.state_error(format!(
                        "the outbox checkpoint of {} is not valid ({e}); this is a bug, please report it",
                        crate::delivery::source_name(kind, self.cfg.source_id.as_str())
                    ))
                });
            }
        }
        self.state_file(kind)
            .load()
            .map_err(|m| self.state_error(m))
    }

    /// Sends one window's `body` to the hub, then records `next` as the position (unchanged
    /// when `None`). `direct` is the request of a job without a delivery service. Returns the
    /// hub's answer, `None` when it was not awaited.
    pub(crate) async fn deliver_window<B, T, F>(
        &self,
        kind: Kind,
        window: &TimeRange,
        body: &B,
        next: Option<&SourceState>,
        direct: F,
    ) -> Result<Option<T>, HistoryImportError>
    where
        B: Serialize,
        T: DeserializeOwned,
        F: Future<Output = Result<T, HubError>>,
    {
        let file = self.state_file(kind);
        let Some(through) = &self.through else {
            let answer = direct.await.map_err(|e| self.hub_error(window, e))?;
            if let Some(next) = next {
                file.store(next).map_err(|m| self.state_error(m))?;
            }
            return Ok(Some(answer));
        };
        let position = match next {
            Some(n) => n.clone(),
            None => self.position(kind)?,
        };
        let payload = serde_json::to_vec(body)
            .map_err(|e| self.delivery_error(window, DeliveryError::Config(e.to_string())))?;
        let checkpoint = serde_json::to_vec(&position)
            .map_err(|e| self.delivery_error(window, DeliveryError::Config(e.to_string())))?;
        let id = self.cfg.source_id.as_str();
        let d = &through.delivery;
        let appended = if through.wait {
            d.submit_waiting(kind, id, payload, checkpoint).await
        } else {
            d.submit(kind, id, payload, checkpoint, false).await
        };
        let batch = appended.map_err(|e| self.delivery_error(window, e))?;
        if next.is_some() {
            // A mirror of the outbox checkpoint for tools and older versions.
            if let Err(m) = file.store(&position) {
                tracing::warn!(source = id, error = %m, "cannot mirror the position to the state file (the outbox checkpoint is kept)");
            }
        }
        if !through.wait {
            return Ok(None);
        }
        match d.wait(kind, id, batch).await {
            Ok(Final::Delivered { body, .. }) if body.is_empty() => Ok(None),
            Ok(Final::Delivered { body, .. }) => Ok(serde_json::from_slice(&body).ok()),
            Ok(Final::DeadLettered { status, body, .. }) => {
                let hub = crate::hub_client::answer_error(status, &body);
                Err(self.delivery_error(
                    window,
                    DeliveryError::DeadLettered {
                        id: batch,
                        reason: hub.to_string(),
                    },
                ))
            }
            Err(e) => Err(self.delivery_error(window, e)),
        }
    }

    pub(crate) fn delivery_error(
        &self,
        window: &TimeRange,
        error: DeliveryError,
    ) -> HistoryImportError {
        self.metrics
            .source_error(self.cfg.source_id.as_str(), error.error_type());
        HistoryImportError::Delivery {
            source_id: self.source_id(),
            window: fmt_range(window),
            error: Box::new(error),
        }
    }
}
