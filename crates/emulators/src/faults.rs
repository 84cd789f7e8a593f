//! Fault injection shared by both emulators.
//!
//! A [`FaultPlan`] is a queue: each queued fault applies once, to the next request whose path
//! matches its filter, in order; then normal service resumes. It can be changed at runtime from
//! any thread (tests hold it through [`crate::EmulatorHandle::faults`]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// One error entry of a UCCX `apiErrors` body (or an AXL fault, see [`Fault::ApiErrors`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiErrorSpec {
    /// `errorType`, e.g. `InternalServerError`, `InvalidInput`, `ResourceNotFound`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `errorData`.
    pub error_data: String,
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and an error body in the product's own format
    /// (UCCX `apiErrors`, AXL SOAP fault).
    Status(u16),
    /// Answer 401 with an HTML page, even with good credentials.
    Unauthorized,
    /// Answer 200 with a body that is not well-formed XML (or JSON when JSON was asked).
    MalformedXml,
    /// Answer the normal response with its body cut in half.
    TruncatedBody,
    /// AXL: the "Maximum AXL Memory Allocation Consumed" throttle fault (axlcode -1).
    /// UCCX: a 503 `apiErrors`.
    AxlThrottle,
    /// Answer this HTTP status with these errors. UCCX: an `apiErrors` body; AXL: a SOAP fault
    /// with the first message and `axlcode` taken from its `error_data` when numeric (else 5007).
    ApiErrors(u16, Vec<ApiErrorSpec>),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// UCCX: answer an empty list (`<resources/>`, `<teams/>`); AXL: an empty `<return/>`.
    EmptyList,
    /// Never answer (within an hour): for client timeouts.
    Hang,
}

#[derive(Debug)]
struct Entry {
    path_prefix: Option<String>,
    fault: Fault,
}

/// Runtime-settable queue of faults.
#[derive(Debug, Default)]
pub struct FaultPlan {
    queue: Mutex<VecDeque<Entry>>,
}

impl FaultPlan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to the next request (after those already queued).
    pub fn push(&self, fault: Fault) {
        self.push_times(fault, 1);
    }

    /// Applies `fault` to each of the next `n` requests.
    pub fn push_times(&self, fault: Fault, n: usize) {
        let mut q = self.lock();
        for _ in 0..n {
            q.push_back(Entry {
                path_prefix: None,
                fault: fault.clone(),
            });
        }
    }

    /// Applies `fault` to the next request whose path starts with `path_prefix`
    /// (e.g. `/adminapi/team`); other requests are served normally and leave it queued.
    pub fn push_for_path(&self, path_prefix: &str, fault: Fault) {
        self.lock().push_back(Entry {
            path_prefix: Some(path_prefix.to_string()),
            fault,
        });
    }

    /// Removes every queued fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Number of faults still queued.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Takes the first queued fault that applies to `path` (used by the emulators).
    pub fn take_for(&self, path: &str) -> Option<Fault> {
        let mut q = self.lock();
        let pos = q.iter().position(|e| match &e.path_prefix {
            Some(p) => path.starts_with(p.as_str()),
            None => true,
        })?;
        q.remove(pos).map(|e| e.fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_once_in_order_and_per_path() {
        let plan = FaultPlan::new();
        plan.push_for_path("/adminapi/team", Fault::Status(503));
        plan.push_times(Fault::Unauthorized, 2);
        assert_eq!(
            plan.take_for("/adminapi/resource"),
            Some(Fault::Unauthorized)
        );
        assert_eq!(plan.take_for("/adminapi/team/1"), Some(Fault::Status(503)));
        assert_eq!(plan.take_for("/adminapi/team"), Some(Fault::Unauthorized));
        assert_eq!(plan.take_for("/adminapi/team"), None);
        assert_eq!(plan.pending(), 0);
    }
}
