//! XML rendering of Finesse documents (elements in the documented order, labels escaped).

use std::fmt::Write;

use quick_xml::escape::escape;

use super::codes::ReasonCode;

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";

fn reason_code_into(out: &mut String, c: &ReasonCode) {
    let _ = write!(
        out,
        "<ReasonCode><uri>/finesse/api/ReasonCode/{id}</uri><id>{id}</id><category>{cat}</category>\
<code>{code}</code><label>{label}</label><forAll>{all}</forAll><systemCode>{sys}</systemCode></ReasonCode>",
        id = c.id,
        cat = c.category.as_str(),
        code = c.code,
        label = escape(c.label.as_str()),
        all = c.for_all,
        sys = c.system_code,
    );
}

/// `<ReasonCodes category="…">` of `<ReasonCode>`.
pub(super) fn reason_codes(category: &str, codes: &[ReasonCode]) -> String {
    let mut out = format!("{PROLOG}<ReasonCodes category=\"{}\">", escape(category));
    for c in codes {
        reason_code_into(&mut out, c);
    }
    out.push_str("</ReasonCodes>");
    out
}

/// A single `<ReasonCode>` document.
pub(super) fn reason_code(c: &ReasonCode) -> String {
    let mut out = String::from(PROLOG);
    reason_code_into(&mut out, c);
    out
}

/// `<ApiErrors><ApiError><ErrorType>…</ErrorType><ErrorMessage>…</ErrorMessage></ApiError></ApiErrors>`.
pub(super) fn api_errors(error_type: &str, message: &str) -> String {
    format!(
        "{PROLOG}<ApiErrors><ApiError><ErrorType>{}</ErrorType><ErrorMessage>{}</ErrorMessage>\
</ApiError></ApiErrors>",
        escape(error_type),
        escape(message)
    )
}
