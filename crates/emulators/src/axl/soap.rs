//! SOAP envelope parsing (quick-xml, DTDs refused) and response/fault rendering.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// What the emulator needs from a request envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct SoapRequest {
    /// Namespace of the operation element (e.g. `http://www.cisco.com/AXL/API/12.5`).
    pub namespace: String,
    /// Local name of the operation element (e.g. `executeSQLQuery`).
    pub operation: String,
    /// The `sequence` attribute, if present.
    pub sequence: Option<u64>,
    /// Text of the `<sql>` child.
    pub sql: Option<String>,
}

/// Parses a SOAP 1.1 request envelope. Errors are faultstrings for a `soapenv:Client` fault.
pub fn parse_request(body: &str) -> Result<SoapRequest, String> {
    let mut reader = NsReader::from_str(body);
    let mut depth = 0usize;
    let mut in_body_at: Option<usize> = None;
    let mut op: Option<SoapRequest> = None;
    let mut in_sql = false;
    let mut sql = String::new();
    let mut saw_envelope = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("Unmarshalling Error: {e}"))?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        match event {
            Event::DocType(_) => return Err("DTD is not allowed in a SOAP message".into()),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local = e.local_name().as_ref().to_string();
                depth += 1;
                if depth == 1 {
                    if local != "Envelope" || ns != SOAP_NS {
                        return Err("Root element is not a SOAP 1.1 Envelope".into());
                    }
                    saw_envelope = true;
                } else if depth == 2 && local == "Body" && ns == SOAP_NS {
                    in_body_at = Some(depth);
                } else if in_body_at == Some(depth - 1) && op.is_none() {
                    let sequence = match e.try_get_attribute("sequence") {
                        Ok(Some(a)) => {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(|e| format!("bad sequence: {e}"))?;
                            Some(v.trim().parse::<u64>().map_err(|_| {
                                format!(
                                    "Unmarshalling Error: sequence '{v}' is not an unsigned long"
                                )
                            })?)
                        }
                        Ok(None) => None,
                        Err(e) => return Err(format!("Unmarshalling Error: {e}")),
                    };
                    op = Some(SoapRequest {
                        namespace: ns,
                        operation: local,
                        sequence,
                        sql: None,
                    });
                } else if op.is_some()
                    && in_body_at.map(|b| depth == b + 2).unwrap_or(false)
                    && local == "sql"
                {
                    in_sql = true;
                    if let Some(o) = op.as_mut() {
                        o.sql = Some(String::new());
                    }
                }
                if is_empty {
                    in_sql = false;
                    if Some(depth) == in_body_at {
                        in_body_at = None;
                    }
                    depth -= 1;
                }
            }
            Event::End(e) => {
                if in_sql && e.local_name().as_ref() == "sql" {
                    in_sql = false;
                    if let Some(o) = op.as_mut() {
                        o.sql = Some(std::mem::take(&mut sql));
                    }
                }
                if Some(depth) == in_body_at {
                    in_body_at = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if in_sql => sql.push_str(&t.xml10_content()),
            Event::CData(t) if in_sql => sql.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    resolve_predefined_entity(&name).map(str::to_string)
                };
                match resolved {
                    Some(s) if in_sql => sql.push_str(&s),
                    Some(_) => {}
                    None => return Err(format!("Undefined entity &{name};")),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_envelope {
        return Err("Empty request: no SOAP Envelope".into());
    }
    op.ok_or_else(|| "SOAP Body holds no operation element".to_string())
}

/// Escapes text for an element body.
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s)
}

/// The response envelope of `executeSQLQuery`.
pub fn sql_response(
    version: &str,
    sequence: Option<u64>,
    rows: &[Vec<(&'static str, Option<String>)>],
    null_as_empty: bool,
) -> String {
    let mut out = String::with_capacity(256 + rows.len() * 128);
    out.push_str("<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"");
    out.push_str(SOAP_NS);
    out.push_str(
        "\"><soapenv:Body><ns:executeSQLQueryResponse xmlns:ns=\"http://www.cisco.com/AXL/API/",
    );
    out.push_str(&escape(version));
    out.push('"');
    if let Some(seq) = sequence {
        out.push_str(&format!(" sequence=\"{seq}\""));
    }
    out.push('>');
    if rows.is_empty() {
        out.push_str("<return/>");
    } else {
        out.push_str("<return>");
        for row in rows {
            out.push_str("<row>");
            for (col, val) in row {
                match val {
                    Some(v) => out.push_str(&format!("<{col}>{}</{col}>", escape(v.as_str()))),
                    None if null_as_empty => out.push_str(&format!("<{col}/>")),
                    None => {}
                }
            }
            out.push_str("</row>");
        }
        out.push_str("</return>");
    }
    out.push_str("</ns:executeSQLQueryResponse></soapenv:Body></soapenv:Envelope>");
    out
}

/// A SOAP fault envelope; `axl` adds `<detail><axlError>` with `(axlcode, request)`.
pub fn fault(code: &str, message: &str, axl: Option<(i64, &str)>) -> String {
    let mut out = format!(
        "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\"><soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring>",
        escape(message)
    );
    if let Some((axlcode, request)) = axl {
        out.push_str(&format!(
            "<detail><axlError><axlcode>{axlcode}</axlcode><axlmessage>{}</axlmessage><request>{}</request></axlError></detail>",
            escape(message),
            escape(request)
        ));
    }
    out.push_str("</soapenv:Fault></soapenv:Body></soapenv:Envelope>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_devguide_request_shape() {
        let body = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.cisco.com/AXL/API/12.5"><soapenv:Header/><soapenv:Body><ns:executeSQLQuery sequence="7"><sql>select userid from enduser where userid = 'o&apos;&#39;x' </sql></ns:executeSQLQuery></soapenv:Body></soapenv:Envelope>"#;
        let r = parse_request(body).unwrap();
        assert_eq!(r.namespace, "http://www.cisco.com/AXL/API/12.5");
        assert_eq!(r.operation, "executeSQLQuery");
        assert_eq!(r.sequence, Some(7));
        assert_eq!(
            r.sql.as_deref(),
            Some("select userid from enduser where userid = 'o''x' ")
        );
    }

    #[test]
    fn refuses_dtd_garbage_and_bad_sequence() {
        assert!(parse_request("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>").is_err());
        assert!(parse_request("not xml <").is_err());
        assert!(parse_request("").is_err());
        let bad = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><executeSQLQuery sequence="x"/></e:Body></e:Envelope>"#;
        assert!(parse_request(bad).unwrap_err().contains("sequence"));
    }
}
