//! Decoders of Finesse XML bodies: `<ReasonCodes>` lists and PascalCase `<ApiErrors>`.

use crate::error::SourceError;
use crate::uccx::ApiError;
use crate::xml::{parse_document, Element, XmlLimits};
use std::fmt;

const WHAT: &str = "Finesse ReasonCodes";

/// The category of a reason code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReasonCategory {
    /// `NOT_READY`: picked when an agent goes Not Ready.
    NotReady,
    /// `LOGOUT`: picked when an agent signs out.
    Logout,
    /// Any other value, kept verbatim (trimmed).
    Other(String),
}

impl ReasonCategory {
    /// Parses the wire value, case-insensitively (`NOT_READY`, `LOGOUT`, anything else).
    pub fn parse(value: &str) -> Self {
        let v = value.trim();
        if v.eq_ignore_ascii_case("NOT_READY") {
            ReasonCategory::NotReady
        } else if v.eq_ignore_ascii_case("LOGOUT") {
            ReasonCategory::Logout
        } else {
            ReasonCategory::Other(v.to_string())
        }
    }

    /// The wire value (`NOT_READY`, `LOGOUT`, or the verbatim other value).
    pub fn as_str(&self) -> &str {
        match self {
            ReasonCategory::NotReady => "NOT_READY",
            ReasonCategory::Logout => "LOGOUT",
            ReasonCategory::Other(s) => s,
        }
    }
}

impl fmt::Display for ReasonCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Finesse reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCode {
    /// `<id>` (the database id, e.g. `29`); taken from the last `uri` segment when `<id>` is absent.
    pub id: String,
    /// `<uri>`, e.g. `/finesse/api/ReasonCode/29`.
    pub uri: Option<String>,
    /// `<category>`, or the root's `category` attribute when the element is absent.
    pub category: ReasonCategory,
    /// `<code>`: the numeric code agents pick (1–65535 on real systems).
    pub code: u32,
    /// `<label>`, entities resolved, trimmed (empty when the element is empty).
    pub label: String,
    /// `<forAll>`: available to every team (default `false`).
    pub for_all: bool,
    /// `<systemCode>`: a predefined system reason code (default `false`).
    pub system_code: bool,
}

/// Decodes `GET /finesse/api/ReasonCodes`: root `<ReasonCodes category="…">` of `<ReasonCode>`
/// (or a single `<ReasonCode>` root). Children may come in any order; unknown elements are
/// ignored; `uri`, `forAll` and `systemCode` are optional; `id` falls back to the `uri`, and
/// `category` to the root attribute. DOCTYPEs, undefined entities, HTML pages, truncated and
/// oversized documents are refused with a [`SourceError`] naming the position.
pub fn decode_reason_codes(body: &[u8]) -> Result<Vec<ReasonCode>, SourceError> {
    let root = parse_document(body, WHAT, &XmlLimits::tree())?;
    match root.name.as_str() {
        "ReasonCodes" => {
            let default_category = root.attr("category").map(ReasonCategory::parse);
            root.children_named("ReasonCode")
                .enumerate()
                .map(|(i, el)| reason_code_from(el, i + 1, default_category.as_ref()))
                .collect()
        }
        "ReasonCode" => Ok(vec![reason_code_from(&root, 1, None)?]),
        "ApiErrors" | "apiErrors" => {
            let errors = api_errors_from(&root).unwrap_or_default();
            let text: Vec<String> = errors.iter().map(ApiError::to_string).collect();
            Err(SourceError::malformed(
                WHAT,
                format!(
                    "expected <ReasonCodes> but got <ApiErrors>: {}",
                    text.join("; ")
                ),
            ))
        }
        other => Err(SourceError::malformed(
            WHAT,
            format!(
                "expected root <ReasonCodes> or <ReasonCode>, got <{}>",
                truncate(other, 60)
            ),
        )),
    }
}

fn reason_code_from(
    el: &Element,
    position: usize,
    default_category: Option<&ReasonCategory>,
) -> Result<ReasonCode, SourceError> {
    let uri = el.child_text("uri");
    let id = el
        .child_text("id")
        .or_else(|| {
            uri.as_deref()
                .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .ok_or_else(|| bad(position, None, "has neither <id> nor <uri>"))?;
    let at = Some(id.as_str());
    let code_text = el
        .child_text("code")
        .ok_or_else(|| bad(position, at, "has no <code>"))?;
    let code = code_text.parse::<u32>().map_err(|_| {
        bad(
            position,
            at,
            &format!(
                "<code> {:?} is not a non-negative number",
                truncate(&code_text, 40)
            ),
        )
    })?;
    let category = match el.child_text("category") {
        Some(c) => ReasonCategory::parse(&c),
        None => default_category
            .cloned()
            .ok_or_else(|| bad(position, at, "has no <category> and the list names none"))?,
    };
    let label = match el.child("label") {
        Some(l) => l.text.trim().to_string(),
        None => return Err(bad(position, at, "has no <label>")),
    };
    let for_all = flag(el, "forAll", position, at)?;
    let system_code = flag(el, "systemCode", position, at)?;
    Ok(ReasonCode {
        id,
        uri,
        category,
        code,
        label,
        for_all,
        system_code,
    })
}

fn flag(el: &Element, name: &str, position: usize, id: Option<&str>) -> Result<bool, SourceError> {
    match el.child_text(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(bad(
            position,
            id,
            &format!("<{name}> {:?} is not true/false", truncate(&v, 40)),
        )),
    }
}

fn bad(position: usize, id: Option<&str>, detail: &str) -> SourceError {
    let who = match id {
        Some(id) => format!("ReasonCode #{position} (id {:?})", truncate(id, 40)),
        None => format!("ReasonCode #{position}"),
    };
    SourceError::malformed(WHAT, format!("{who} {detail}"))
}

/// Decodes a Finesse error body `<ApiErrors><ApiError><ErrorType/><ErrorMessage/>…</ApiError></ApiErrors>`
/// (PascalCase; the camelCase spelling and a bare `<ApiError>` root are accepted too).
/// `ErrorData` becomes `error_data`. `None` when the body is not such a document.
pub fn decode_api_errors(body: &[u8]) -> Option<Vec<ApiError>> {
    let root = parse_document(body, "Finesse ApiErrors", &XmlLimits::tree()).ok()?;
    api_errors_from(&root)
}

fn api_errors_from(root: &Element) -> Option<Vec<ApiError>> {
    let one = |e: &Element| ApiError {
        error_type: text_any(e, &["ErrorType", "errorType"]),
        error_message: text_any(e, &["ErrorMessage", "errorMessage"]),
        error_data: text_any(e, &["ErrorData", "errorData"]),
    };
    match root.name.as_str() {
        "ApiErrors" | "apiErrors" => Some(
            root.children
                .iter()
                .filter(|c| c.name == "ApiError" || c.name == "apiError")
                .map(one)
                .collect(),
        ),
        "ApiError" | "apiError" => Some(vec![one(root)]),
        _ => None,
    }
}

fn text_any(el: &Element, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| el.child_text(n))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
