//! XML rendering of ConfigAPI documents (compact, one line, every text escaped).

use quick_xml::escape::escape;

use super::paging::{ApiError, PageInfo};

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";

/// Namespace of `xsi:type`, declared on `<results>`.
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A minimal compact XML writer.
pub(crate) struct W {
    pub out: String,
}

impl W {
    /// A document with the XML prolog, room for `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push_str(PROLOG);
        W { out }
    }

    /// `<tag>`
    pub fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<tag xsi:type="…">`
    pub fn open_typed(&mut self, tag: &str, xsi_type: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str(" xsi:type=\"");
        self.out.push_str(xsi_type);
        self.out.push_str("\">");
    }

    /// `</tag>`
    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<tag/>`
    pub fn empty(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str("/>");
    }

    /// `<tag>text</tag>`, text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag);
        self.out.push_str(&escape(text));
        self.close(tag);
    }

    /// `<tag>n</tag>`
    pub fn num(&mut self, tag: &str, n: impl std::fmt::Display) {
        use std::fmt::Write;
        self.open(tag);
        let _ = write!(self.out, "{n}");
        self.close(tag);
    }

    /// `<tag>true|false</tag>`
    pub fn bool(&mut self, tag: &str, b: bool) {
        self.leaf(tag, if b { "true" } else { "false" });
    }

    /// `<tag><refURL>{path}/{id}</refURL><name>…</name></tag>`
    pub fn named_ref(&mut self, tag: &str, path: &str, id: u32, name: &str) {
        use std::fmt::Write;
        self.open(tag);
        self.open("refURL");
        let _ = write!(self.out, "{path}/{id}");
        self.close("refURL");
        self.leaf("name", name);
        self.close(tag);
    }

    /// `<results xmlns:xsi="…"><pageInfo>…</pageInfo>`: the caller writes the list, then
    /// closes `results`.
    pub fn results_start(&mut self, info: &PageInfo) {
        self.out.push_str("<results xmlns:xsi=\"");
        self.out.push_str(XSI);
        self.out.push_str("\">");
        self.open("pageInfo");
        self.num("resultsPerPage", info.size);
        self.num("startIndex", info.start);
        self.num("totalResults", info.total);
        self.leaf("firstPage", &info.first);
        self.leaf("lastPage", &info.last);
        if let Some(prev) = &info.prev {
            self.leaf("prevPage", prev);
        }
        if let Some(next) = &info.next {
            self.leaf("nextPage", next);
        }
        self.close("pageInfo");
    }
}

/// `<apiErrors><apiError><errorData/>[<errorDetail><min/><max/></errorDetail>]<errorMessage/><errorType/></apiError></apiErrors>`
pub(crate) fn api_errors(errors: &[ApiError]) -> String {
    let mut w = W::new(256);
    w.open("apiErrors");
    for e in errors {
        w.open("apiError");
        w.leaf("errorData", &e.data);
        if let Some((min, max)) = e.detail {
            w.open("errorDetail");
            w.num("min", min);
            w.num("max", max);
            w.close("errorDetail");
        }
        w.leaf("errorMessage", &e.message);
        w.leaf("errorType", &e.error_type);
        w.close("apiError");
    }
    w.close("apiErrors");
    w.out
}
