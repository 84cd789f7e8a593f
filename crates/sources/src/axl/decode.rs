//! AXL SOAP wire format: the `executeSQLQuery` request envelope, SQL literal quoting, the
//! response rows, SOAP faults and the throttling hint ("Suggestive Row Fetch: less than N rows").

use crate::error::SourceError;
use crate::xml::{parse_document, Element, XmlLimits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

const WHAT: &str = "CUCM AXL executeSQLQuery";

/// One row of the result: column name (lowercase) → value; `None` for NULL (empty or absent).
pub type SqlRow = BTreeMap<String, Option<String>>;

/// One CUCM end user as read by the importer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserRow {
    /// `pkid`: the immutable key (bare lowercase GUID).
    pub pkid: Option<String>,
    /// `userid`: matches UCCX `userID`.
    pub userid: String,
    /// `mailid`: the e-mail address.
    pub mailid: Option<String>,
    /// `directoryuri`: the secondary e-mail / SIP URI.
    pub directoryuri: Option<String>,
}

impl EndUserRow {
    /// Builds a row from a decoded result row; `pos` (1-based) names it in the error when
    /// `userid` is missing.
    pub fn from_row(row: &SqlRow, pos: usize) -> Result<Self, SourceError> {
        let get = |k: &str| row.get(k).cloned().flatten();
        let Some(userid) = get("userid") else {
            return Err(SourceError::malformed(
                WHAT,
                format!("row #{pos} has no userid"),
            ));
        };
        Ok(EndUserRow {
            pkid: get("pkid"),
            userid,
            mailid: get("mailid"),
            directoryuri: get("directoryuri"),
        })
    }
}

/// A decoded SOAP fault with its AXL detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxlFault {
    /// `faultcode`, e.g. `soapenv:Server`.
    pub faultcode: String,
    /// `faultstring`.
    pub faultstring: String,
    /// `detail/axlError/axlcode` (e.g. 201 SQL syntax, -1 throttle).
    pub axlcode: Option<i64>,
    /// `detail/axlError/axlmessage`.
    pub axlmessage: Option<String>,
}

impl AxlFault {
    /// The message to show and match: `axlmessage`, else `faultstring`.
    pub fn message(&self) -> &str {
        self.axlmessage.as_deref().unwrap_or(&self.faultstring)
    }

    /// `(total rows, less than)` when this is the "Query request too large" throttle.
    pub fn row_fetch_hint(&self) -> Option<(u64, u64)> {
        parse_row_fetch_hint(self.message()).or_else(|| parse_row_fetch_hint(&self.faultstring))
    }

    /// True for "Maximum AXL Memory Allocation Consumed" (too many concurrent requests).
    pub fn is_memory_throttle(&self) -> bool {
        let m = self.message().to_ascii_lowercase();
        let s = self.faultstring.to_ascii_lowercase();
        m.contains("memory allocation consumed") || s.contains("memory allocation consumed")
    }
}

impl fmt::Display for AxlFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.faultcode, self.faultstring)?;
        if let Some(code) = self.axlcode {
            write!(f, " (axlcode {code})")?;
        }
        Ok(())
    }
}

/// Escapes text for an XML element or attribute value.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The SOAP envelope of one `executeSQLQuery` call for AXL schema `version` (e.g. `12.5`); the
/// SQL text is XML-escaped.
pub fn build_execute_sql_request(version: &str, sequence: u64, sql: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns=\"http://www.cisco.com/AXL/API/{}\"><soapenv:Header/><soapenv:Body><ns:executeSQLQuery sequence=\"{sequence}\"><sql>{}</sql></ns:executeSQLQuery></soapenv:Body></soapenv:Envelope>",
        escape(version),
        escape(sql)
    )
}

/// Quotes a value as an Informix SQL string literal (`O'Brien` → `'O''Brien'`). Refuses control
/// characters (NUL, newlines, …): no legitimate user id has them.
pub fn quote_sql_literal(v: &str) -> Result<String, SourceError> {
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(SourceError::Config {
            message: format!(
                "refusing to put a value with control character U+{:04X} into an AXL SQL query",
                u32::from(c)
            ),
        });
    }
    Ok(format!("'{}'", v.replace('\'', "''")))
}

/// Finds a number right after `marker` (skipping spaces).
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let at = text.find(marker)? + marker.len();
    let rest = text[at..].trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parses "Query request too large. Total rows matched: 2816 rows. Suggestive Row Fetch: less
/// than 844 rows" (also "Suggested", any case) into `(2816, 844)`.
pub fn parse_row_fetch_hint(message: &str) -> Option<(u64, u64)> {
    let lower = message.to_ascii_lowercase();
    let fetch = lower
        .find("suggestive row fetch")
        .or_else(|| lower.find("suggested row fetch"))?;
    let total = number_after(&lower, "total rows matched:")?;
    let less = number_after(&lower[fetch..], "less than")?;
    Some((total, less))
}

/// Decodes a SOAP fault anywhere in the body; `None` when the body holds none.
pub fn decode_fault(body: &[u8]) -> Option<AxlFault> {
    let root = parse_document(body, WHAT, &XmlLimits::tree()).ok()?;
    fault_from(&root)
}

fn fault_from(root: &Element) -> Option<AxlFault> {
    let fault = root.find("Fault")?;
    let axl = fault.child("detail").and_then(|d| d.find("axlError"));
    Some(AxlFault {
        faultcode: fault.child_text("faultcode").unwrap_or_default(),
        faultstring: fault.child_text("faultstring").unwrap_or_default(),
        axlcode: axl
            .and_then(|a| a.child_text("axlcode"))
            .and_then(|c| c.parse().ok()),
        axlmessage: axl.and_then(|a| a.child_text("axlmessage")),
    })
}

/// Decodes an `executeSQLQueryResponse`: the echoed `sequence` (if any) and the rows. A body
/// holding a SOAP fault gives [`SourceError::SoapFault`].
pub fn decode_execute_sql_response(body: &[u8]) -> Result<(Option<u64>, Vec<SqlRow>), SourceError> {
    let root = parse_document(body, WHAT, &XmlLimits::tree())?;
    if let Some(fault) = fault_from(&root) {
        return Err(SourceError::SoapFault {
            what: WHAT.to_string(),
            fault,
        });
    }
    let Some(resp) = root.find("executeSQLQueryResponse") else {
        return Err(SourceError::malformed(
            WHAT,
            format!(
                "expected an executeSQLQueryResponse, got <{}> without one",
                root.name
            ),
        ));
    };
    let sequence = match resp.attr("sequence").map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                return Err(SourceError::malformed(
                    WHAT,
                    format!("sequence {s:?} is not an unsigned number"),
                ))
            }
        },
    };
    let mut rows = Vec::new();
    if let Some(ret) = resp.child("return") {
        for row in ret.children_named("row") {
            let mut map = SqlRow::new();
            for col in &row.children {
                map.insert(col.name.to_ascii_lowercase(), col.trimmed_text());
            }
            rows.push(map);
        }
    }
    Ok((sequence, rows))
}
