//! Paging guards shared by every cloud listing: loop detection, de-duplication, a limit on
//! consecutive empty pages and on the number of pages. A failed page fails the whole fetch, so a
//! caller never sees a partial result.

use crate::error::SourceError;
pub use crate::FetchReport;
use std::collections::HashSet;

/// Collects the pages of one listing. Call [`PageCollector::visit`] with each cursor (URL or
/// token) before fetching it, [`PageCollector::add_page`] with what it returned, then
/// [`PageCollector::finish`].
pub struct PageCollector<T> {
    what: String,
    items: Vec<T>,
    warnings: Vec<String>,
    requests: u32,
    pages: u32,
    max_pages: u32,
    empty_run: u32,
    max_empty: u32,
    seen_cursors: HashSet<String>,
    seen_ids: HashSet<String>,
    duplicates: Vec<String>,
}

impl<T> PageCollector<T> {
    /// A collector for `what` (e.g. `webex users`), giving up after `max_empty` consecutive
    /// empty pages that still have a successor, or after `max_pages` pages.
    pub fn new(what: impl Into<String>, max_empty: u32, max_pages: u32) -> Self {
        PageCollector {
            what: what.into(),
            items: Vec::new(),
            warnings: Vec::new(),
            requests: 0,
            pages: 0,
            max_pages: max_pages.max(1),
            empty_run: 0,
            max_empty: max_empty.max(1),
            seen_cursors: HashSet::new(),
            seen_ids: HashSet::new(),
            duplicates: Vec::new(),
        }
    }

    /// Pages added so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Records a cursor about to be fetched; a cursor already followed is a paging loop.
    pub fn visit(&mut self, cursor: &str) -> Result<(), SourceError> {
        if !self.seen_cursors.insert(cursor.to_string()) {
            return Err(SourceError::malformed(
                &self.what,
                format!(
                    "paging loop: next page {cursor:?} was already fetched (after {} pages)",
                    self.pages
                ),
            ));
        }
        if self.pages >= self.max_pages {
            return Err(SourceError::TooLarge {
                what: self.what.clone(),
                detail: format!("more than {} pages", self.max_pages),
            });
        }
        Ok(())
    }

    /// Adds one page: drops records whose id was already seen, and fails after too many
    /// consecutive empty pages that still point to a next one. Returns how many new records
    /// the page added.
    pub fn add_page(
        &mut self,
        page: Vec<T>,
        requests: u32,
        id: impl Fn(&T) -> &str,
        has_next: bool,
    ) -> Result<usize, SourceError> {
        self.pages += 1;
        self.requests += requests;
        if page.is_empty() && has_next {
            self.empty_run += 1;
            if self.empty_run >= self.max_empty {
                return Err(SourceError::malformed(
                    &self.what,
                    format!(
                        "{} consecutive empty pages still point to a next page (page {}); giving up",
                        self.empty_run, self.pages
                    ),
                ));
            }
            self.warnings.push(format!(
                "{}: page {} was empty but points to a next page; following it",
                self.what, self.pages
            ));
        } else if !page.is_empty() {
            self.empty_run = 0;
        }
        let mut added = 0;
        for item in page {
            let key = id(&item).to_string();
            if self.seen_ids.insert(key.clone()) {
                self.items.push(item);
                added += 1;
            } else {
                self.duplicates.push(key);
            }
        }
        Ok(added)
    }

    /// Counts requests that did not produce a page (e.g. a member listing folded elsewhere).
    pub fn add_requests(&mut self, requests: u32) {
        self.requests += requests;
    }

    /// Adds a warning.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// The report, with one warning summarising dropped duplicates.
    pub fn finish(mut self) -> FetchReport<T> {
        if !self.duplicates.is_empty() {
            let mut ids = self.duplicates.clone();
            ids.sort();
            ids.dedup();
            let sample: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
            let more = if ids.len() > sample.len() {
                ", …"
            } else {
                ""
            };
            self.warnings.push(format!(
                "{}: {} record(s) appeared more than once across pages and were de-duplicated (kept the first): {}{more}",
                self.what,
                self.duplicates.len(),
                sample.join(", ")
            ));
        }
        FetchReport {
            items: self.items,
            warnings: self.warnings,
            requests: self.requests,
        }
    }
}
