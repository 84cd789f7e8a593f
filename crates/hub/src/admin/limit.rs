//! Failed-authentication rate limiting per client address: after [`FailureLimiter::max`]
//! failures within [`FailureLimiter::window`], further *failures* from that address are answered
//! 429 with `Retry-After` (the seconds until the oldest failure leaves the window). A valid token
//! from the same address is never refused, so an attacker sharing an address (NAT) cannot lock
//! the legitimate holder out; and the block ends by itself (a delay, not a lockout).
//!
//! Memory is bounded: at most [`MAX_ADDRESSES`] addresses are tracked (the ones with no recent
//! failure are dropped first). Uses the monotonic clock; the limiter is per hub process.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures counted per address before answering 429.
pub const DEFAULT_MAX_FAILURES: usize = 10;
/// The window failures are counted in.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most.
pub const MAX_ADDRESSES: usize = 10_000;

/// Counts failed authentications per address.
#[derive(Debug)]
pub struct FailureLimiter {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FAILURES, DEFAULT_WINDOW)
    }
}

impl FailureLimiter {
    /// A limiter answering 429 after `max` failures within `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        FailureLimiter {
            max: max.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Failures allowed per window.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The counting window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records a failure from `addr` at `now`; answers `Some(retry_after_seconds)` when the
    /// address is over the limit (this failure included), else `None`.
    pub fn record_failure(&self, addr: IpAddr, now: Instant) -> Option<u64> {
        let mut map = match self.failures.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&addr) {
            let window = self.window;
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
            if map.len() >= MAX_ADDRESSES {
                map.clear();
            }
        }
        let times = map.entry(addr).or_default();
        while let Some(first) = times.front() {
            if now.saturating_duration_since(*first) >= self.window {
                times.pop_front();
            } else {
                break;
            }
        }
        times.push_back(now);
        while times.len() > self.max + 1 {
            times.pop_front();
        }
        if times.len() <= self.max {
            return None;
        }
        let oldest = times.front().copied().unwrap_or(now);
        let waited = now.saturating_duration_since(oldest);
        let left = self.window.saturating_sub(waited);
        Some(left.as_secs().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_in_a_minute_is_limited_and_the_block_ends() {
        let limiter = FailureLimiter::default();
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(
                limiter.record_failure(addr, t0 + Duration::from_secs(i)),
                None
            );
        }
        let retry = limiter
            .record_failure(addr, t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(retry, 50, "until the oldest failure leaves the window");
        assert_eq!(limiter.record_failure(other, t0), None, "per address");
        assert_eq!(
            limiter.record_failure(addr, t0 + Duration::from_secs(75)),
            None,
            "failures older than the window no longer count"
        );
    }
}
