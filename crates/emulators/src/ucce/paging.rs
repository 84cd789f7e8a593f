//! Query parameters of ConfigAPI collections (`startIndex`, `resultsPerPage`, `summary`, `q`,
//! `sort`), their validation errors, the `pageInfo` links, and per-page fault injection.

use std::sync::{Arc, Mutex};

use crate::faults::Fault;

/// Page size when the client sends no `resultsPerPage` (and when the server ignores it).
pub const DEFAULT_PAGE_SIZE: u64 = 25;

/// Largest `startIndex` accepted (a Java `int`).
const MAX_START_INDEX: u64 = 2_147_483_647;

/// One ConfigAPI error entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub data: String,
    pub detail: Option<(u64, u64)>,
    pub message: String,
    pub error_type: String,
}

/// How the server treats `resultsPerPage`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageRules {
    pub max: u64,
    pub clamp: bool,
    pub ignore: bool,
}

/// A validated collection request.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ListRequest {
    pub start: u64,
    pub size: u64,
    pub summary: bool,
    pub q: Option<String>,
    /// `(field, descending)`.
    pub sort: Option<(String, bool)>,
}

fn out_of_range(field: &str, min: u64, max: u64) -> ApiError {
    ApiError {
        data: field.into(),
        detail: Some((min, max)),
        message: format!("This field must contain a value from {min} to {max}"),
        error_type: "invalidInput.outOfRange".into(),
    }
}

fn not_a_number(field: &str) -> ApiError {
    ApiError {
        data: field.into(),
        detail: None,
        message: "This field must contain a whole number".into(),
        error_type: "invalidInput.invalidNumber".into(),
    }
}

fn integer(field: &str, raw: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    let Ok(n) = raw.trim().parse::<i128>() else {
        return Err(not_a_number(field));
    };
    if n < i128::from(min) || n > i128::from(max) {
        return Err(out_of_range(field, min, max));
    }
    u64::try_from(n).map_err(|_| out_of_range(field, min, max))
}

/// Validates the query parameters of a collection request.
pub(crate) fn parse(
    params: &[(String, String)],
    rules: PageRules,
) -> Result<ListRequest, ApiError> {
    let mut req = ListRequest {
        size: DEFAULT_PAGE_SIZE,
        ..ListRequest::default()
    };
    for (name, value) in params {
        match name.as_str() {
            "startIndex" => req.start = integer("startIndex", value, 0, MAX_START_INDEX)?,
            "resultsPerPage" if rules.ignore => {
                integer("resultsPerPage", value, 0, u64::MAX >> 1)?;
            }
            "resultsPerPage" if rules.clamp => {
                let n = integer("resultsPerPage", value, 1, u64::MAX >> 1)?;
                req.size = n.min(rules.max);
            }
            "resultsPerPage" => req.size = integer("resultsPerPage", value, 1, rules.max)?,
            "summary" => req.summary = value.eq_ignore_ascii_case("true"),
            "q" if !value.trim().is_empty() => req.q = Some(value.trim().to_string()),
            "sort" if !value.trim().is_empty() => {
                let mut words = value.split_whitespace();
                let field = words.next().unwrap_or_default().to_string();
                let desc = words
                    .next()
                    .map(|w| w.eq_ignore_ascii_case("desc"))
                    .unwrap_or(false);
                req.sort = Some((field, desc));
            }
            _ => {}
        }
    }
    if rules.ignore {
        req.size = DEFAULT_PAGE_SIZE;
    }
    Ok(req)
}

/// The error for a `sort=` field a collection does not support.
pub(crate) fn bad_sort(field: &str) -> ApiError {
    ApiError {
        data: "sort".into(),
        detail: None,
        message: format!("Sorting by {field} is not supported"),
        error_type: "invalidInput.invalidSortField".into(),
    }
}

/// Percent-encodes a query value (unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `pageInfo` of one page: numbers and absolute links.
#[derive(Clone, Debug)]
pub(crate) struct PageInfo {
    pub size: u64,
    pub start: u64,
    pub total: u64,
    pub first: String,
    pub last: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl PageInfo {
    /// `collection_url` is absolute, without a query. `next_loop`: every page after the first
    /// (and a lone page) links back to `startIndex=0`.
    pub fn new(collection_url: &str, req: &ListRequest, total: u64, next_loop: bool) -> Self {
        let mut extra = String::new();
        if req.summary {
            extra.push_str("&summary=true");
        }
        if let Some(q) = &req.q {
            extra.push_str("&q=");
            extra.push_str(&encode(q));
        }
        if let Some((field, desc)) = &req.sort {
            extra.push_str("&sort=");
            extra.push_str(&encode(field));
            extra.push_str(if *desc { "%20desc" } else { "%20asc" });
        }
        let size = req.size.max(1);
        let link = |start: u64| {
            format!("{collection_url}?startIndex={start}&resultsPerPage={size}{extra}")
        };
        let last_start = if total == 0 {
            0
        } else {
            (total - 1) / size * size
        };
        let prev = (req.start > 0).then(|| link(req.start.saturating_sub(size)));
        let regular_next = req.start + size < total;
        let next = if next_loop && (req.start > 0 || !regular_next) {
            Some(link(0))
        } else if regular_next {
            Some(link(req.start + size))
        } else {
            None
        };
        PageInfo {
            size,
            start: req.start,
            total,
            first: link(0),
            last: link(last_start),
            prev,
            next,
        }
    }
}

/// What a page-fault entry waits for.
#[derive(Clone, Debug, PartialEq)]
enum Trigger {
    StartIndex(u64),
    Nth(usize),
}

#[derive(Clone, Debug)]
struct Entry {
    path: String,
    trigger: Trigger,
    seen: usize,
    fault: Fault,
}

/// Faults aimed at one page of a collection: "the page at `startIndex=200` of
/// `/unifiedconfig/config/agent` answers 500", or "the 3rd agent request from now hangs".
///
/// Each entry fires once. Clone it before [`super::UcceEmulator::spawn`] and keep the clone to
/// add entries while the emulator runs. `path` is a collection path such as
/// `/unifiedconfig/config/agent`; it matches that exact path and the paths under it
/// (`…/agent/5000`), never `…/agentteam`. Every [`Fault`] variant is supported;
/// `AxlThrottle` answers 503.
#[derive(Clone, Debug, Default)]
pub struct PageFaults(Arc<Mutex<Vec<Entry>>>);

impl PageFaults {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` once, to the next list request of `path` with this `startIndex`.
    pub fn at_start_index(&self, path: &str, start_index: u64, fault: Fault) {
        self.lock().push(Entry {
            path: path.trim_end_matches('/').to_string(),
            trigger: Trigger::StartIndex(start_index),
            seen: 0,
            fault,
        });
    }

    /// Applies `fault` to the `n`-th (1-based) request of `path` counted from now.
    pub fn at_nth_request(&self, path: &str, n: usize, fault: Fault) {
        self.lock().push(Entry {
            path: path.trim_end_matches('/').to_string(),
            trigger: Trigger::Nth(n.max(1)),
            seen: 0,
            fault,
        });
    }

    /// Number of entries that have not fired yet.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Called once per request: counts it and returns the first fault that fires.
    pub(crate) fn take(&self, path: &str, start_index: Option<u64>) -> Option<Fault> {
        let mut list = self.lock();
        let mut fired = None;
        for (i, e) in list.iter_mut().enumerate() {
            let matches = path == e.path
                || path
                    .strip_prefix(e.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            if !matches {
                continue;
            }
            e.seen += 1;
            let fire = match e.trigger {
                Trigger::StartIndex(s) => start_index == Some(s),
                Trigger::Nth(n) => e.seen == n,
            };
            if fire && fired.is_none() {
                fired = Some(i);
            }
        }
        fired.map(|i| list.remove(i).fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const STRICT: PageRules = PageRules {
        max: 100,
        clamp: false,
        ignore: false,
    };

    #[test]
    fn page_size_rules() {
        assert_eq!(parse(&[], STRICT).map(|r| r.size), Ok(25));
        let e = parse(&p(&[("resultsPerPage", "101")]), STRICT).unwrap_err();
        assert_eq!(e.error_type, "invalidInput.outOfRange");
        assert_eq!(e.detail, Some((1, 100)));
        let e = parse(&p(&[("startIndex", "-1")]), STRICT).unwrap_err();
        assert_eq!(e.data, "startIndex");
        let e = parse(&p(&[("startIndex", "x")]), STRICT).unwrap_err();
        assert_eq!(e.error_type, "invalidInput.invalidNumber");
        let clamp = PageRules {
            clamp: true,
            ..STRICT
        };
        assert_eq!(
            parse(&p(&[("resultsPerPage", "500")]), clamp).map(|r| r.size),
            Ok(100)
        );
        let ignore = PageRules {
            ignore: true,
            ..STRICT
        };
        assert_eq!(
            parse(&p(&[("resultsPerPage", "500")]), ignore).map(|r| r.size),
            Ok(25)
        );
    }

    #[test]
    fn links_keep_the_query_and_stop_on_the_last_page() {
        let req = ListRequest {
            start: 200,
            size: 100,
            q: Some("a&b".into()),
            ..ListRequest::default()
        };
        let info = PageInfo::new("http://h/x", &req, 250, false);
        assert_eq!(info.next, None);
        assert_eq!(
            info.prev.as_deref(),
            Some("http://h/x?startIndex=100&resultsPerPage=100&q=a%26b")
        );
        assert!(info.last.contains("startIndex=200&"));
    }

    #[test]
    fn page_faults_fire_on_their_page_only() {
        let f = PageFaults::new();
        f.at_start_index("/c/agent", 200, Fault::Status(500));
        f.at_nth_request("/c/agent", 2, Fault::EmptyList);
        assert_eq!(f.take("/c/agentteam", Some(200)), None);
        assert_eq!(f.take("/c/agent", Some(0)), None);
        assert_eq!(f.take("/c/agent", Some(100)), Some(Fault::EmptyList));
        assert_eq!(f.take("/c/agent", Some(200)), Some(Fault::Status(500)));
        assert_eq!(f.pending(), 0);
    }
}
