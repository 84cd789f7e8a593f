//! Hardened XML reading shared by every source: a pull parser over `quick_xml` events that
//! applies hard limits as it goes (`XmlStream`, for decoders that build records while reading,
//! so a large list is never held as a tree), and a small element tree built on it
//! ([`parse_document`]).
//!
//! Refused, fast and with a clear error: any `<!DOCTYPE>` (so no DTD, no entity definitions, no
//! billion laughs, no XXE), undefined entity references, documents over `max_bytes`, nesting
//! deeper than `max_depth`, more than `max_attributes` on one element, more than `max_nodes`
//! elements, invalid UTF-8, truncated documents and mismatched tags. Namespace prefixes are
//! dropped: elements and attributes are matched by local name.

use crate::error::SourceError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;

/// Limits applied while reading one XML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Most attributes (including namespace declarations) on one element.
    pub max_attributes: usize,
    /// Most elements in the whole document.
    pub max_nodes: usize,
}

impl Default for XmlLimits {
    /// 64 MiB, depth 64, 64 attributes, 2 million elements: far above what UCCX (≤ 400 agents ×
    /// 50 skills) or AXL (8 MB result cap) send, far below what hurts.
    fn default() -> Self {
        XmlLimits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 64,
            max_attributes: 64,
            max_nodes: 2_000_000,
        }
    }
}

impl XmlLimits {
    /// Most elements of a document decoded as a whole tree ([`parse_document`]): 200,000. A
    /// tree costs about 130 bytes per element, so the default 2 million (sized for the UCCX lists,
    /// which are decoded record by record) let an 8 MB body of `<x/>` take 270 MB of memory; a
    /// UCCE page (at most 100 records), an AXL answer (at most 1,000 rows) or the Finesse reason
    /// codes hold far fewer.
    pub const TREE_MAX_NODES: usize = 200_000;

    /// The default limits with at most [`XmlLimits::TREE_MAX_NODES`] elements: for decoders that
    /// build the whole document as a tree.
    pub fn tree() -> XmlLimits {
        XmlLimits {
            max_nodes: Self::TREE_MAX_NODES,
            ..XmlLimits::default()
        }
    }
}

/// One element: local name, attributes (local names), child elements and its own text
/// (the concatenation of its text, entity and CDATA pieces, untrimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (namespace prefix removed).
    pub name: String,
    /// Attributes as (local name, unescaped value), in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text content, entities resolved.
    pub text: String,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The value of an attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element's text, trimmed; `None` when empty or only whitespace.
    pub fn trimmed_text(&self) -> Option<String> {
        let t = self.text.trim();
        if t.is_empty() {
            None
        } else {
            Some(t.to_string())
        }
    }

    /// Trimmed text of the first child with this name; `None` when absent or empty.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).and_then(Element::trimmed_text)
    }

    /// The first descendant (depth first, self included) with this local name.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// True when the body looks like an HTML page (a login or error page) rather than XML.
pub fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..]
        .iter()
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

/// Parses a whole document into its root element under `limits`. `what` names the endpoint or
/// document in errors.
pub fn parse_document(body: &[u8], what: &str, limits: &XmlLimits) -> Result<Element, SourceError> {
    let mut stream = XmlStream::new(body, what, limits)?;
    let root = stream.root()?;
    let root = stream.read_element(root)?;
    stream.finish()?;
    Ok(root)
}

/// One step of a hardened walk over a document ([`XmlStream::next_node`]).
#[derive(Debug)]
pub(crate) enum XmlNode<'a> {
    /// An element opens: its local name and attributes, no children, no text yet. An empty
    /// element (`<a/>`) is an `Open` immediately followed by a `Close`.
    Open(Element),
    /// The innermost open element closes.
    Close,
    /// A piece of the innermost open element's text: a text run, a resolved entity or CDATA.
    Text(Cow<'a, str>),
}

/// A pull parser over one document that applies every hardening rule of this module as it goes
/// (size, HTML, UTF-8, DOCTYPE, depth, element count, attributes, entities, text and content
/// outside the root, truncation) and hands out [`XmlNode`]s, so that a caller can build records
/// directly without holding a tree of the whole document. [`parse_document`] is built on it.
pub(crate) struct XmlStream<'a> {
    reader: Reader<&'a [u8]>,
    text: &'a str,
    what: &'a str,
    limits: XmlLimits,
    /// Names of the open elements, concatenated; `open_at` holds where each one starts.
    open_names: String,
    open_at: Vec<usize>,
    nodes: usize,
    root_done: bool,
    /// An empty element was handed out as `Open`; its `Close` comes next.
    pending_close: bool,
}

impl<'a> XmlStream<'a> {
    /// Checks size, HTML and UTF-8 (no copy) and prepares the reader.
    pub(crate) fn new(
        body: &'a [u8],
        what: &'a str,
        limits: &XmlLimits,
    ) -> Result<Self, SourceError> {
        if body.len() > limits.max_bytes {
            return Err(SourceError::TooLarge {
                what: what.to_string(),
                detail: format!(
                    "{} bytes, the limit is {} bytes",
                    body.len(),
                    limits.max_bytes
                ),
            });
        }
        if looks_like_html(body) {
            return Err(SourceError::malformed(
                what,
                "expected XML but the server sent an HTML page (a login, proxy or error page?)",
            ));
        }
        let text = match std::str::from_utf8(body) {
            Ok(t) => t,
            Err(e) => {
                return Err(SourceError::malformed(
                    what,
                    format!("invalid UTF-8 at byte offset {}", e.valid_up_to()),
                ))
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        Ok(XmlStream {
            reader,
            text,
            what,
            limits: *limits,
            open_names: String::new(),
            open_at: Vec::new(),
            nodes: 0,
            root_done: false,
            pending_close: false,
        })
    }

    /// Lowers the element limit for the rest of the document (never raises it); a caller that
    /// turns to building the whole remaining document as a tree uses [`XmlLimits::tree`]'s.
    pub(crate) fn limit_nodes(&mut self, max_nodes: usize) {
        self.limits.max_nodes = self.limits.max_nodes.min(max_nodes);
    }

    /// How many elements are open after the last node handed out (an empty element counts as
    /// open between its `Open` and its `Close`); the root's children are at depth 2.
    pub(crate) fn depth(&self) -> usize {
        self.open_at.len() + usize::from(self.pending_close)
    }

    /// The root element's `Open`: the first node of every document (anything before it is
    /// skipped or refused by [`XmlStream::next_node`]).
    pub(crate) fn root(&mut self) -> Result<Element, SourceError> {
        match self.next_node()? {
            Some(XmlNode::Open(el)) => Ok(el),
            _ => Err(SourceError::malformed(
                self.what,
                "empty document: no root element",
            )),
        }
    }

    /// Builds the element whose `Open` was just handed out (children, attributes, text),
    /// consuming the stream up to and including its `Close`. Memory is bounded by that element.
    pub(crate) fn read_element(&mut self, open: Element) -> Result<Element, SourceError> {
        let mut stack = vec![open];
        while let Some(node) = self.next_node()? {
            match node {
                XmlNode::Open(el) => stack.push(el),
                XmlNode::Close => {
                    let Some(el) = stack.pop() else { break };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => return Ok(el),
                    }
                }
                XmlNode::Text(t) => {
                    if let Some(el) = stack.last_mut() {
                        el.text.push_str(&t);
                    }
                }
            }
        }
        // `next` reports a truncated document before running out; this is only a safety net.
        Err(SourceError::malformed(
            self.what,
            format!(
                "document is truncated at {}",
                self.at(self.text.len() as u64)
            ),
        ))
    }

    /// Reads to the end of the document, applying every rule to what is left.
    pub(crate) fn finish(&mut self) -> Result<(), SourceError> {
        while self.next_node()?.is_some() {}
        Ok(())
    }

    /// The next node, `None` at the end of a complete document.
    pub(crate) fn next_node(&mut self) -> Result<Option<XmlNode<'a>>, SourceError> {
        if self.pending_close {
            self.pending_close = false;
            self.root_done |= self.open_at.is_empty();
            return Ok(Some(XmlNode::Close));
        }
        let what = self.what;
        loop {
            let event = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let offset = self.reader.error_position();
                    return Err(SourceError::malformed(
                        what,
                        format!("{e} at {}", self.at(offset)),
                    ));
                }
            };
            match event {
                Event::DocType(_) => {
                    return Err(SourceError::malformed(
                        what,
                        format!(
                            "DOCTYPE/DTD declarations are refused (entity expansion and external entities are not allowed) at {}",
                            self.here()
                        ),
                    ));
                }
                Event::Start(_) | Event::Empty(_) if self.root_done => {
                    return Err(SourceError::malformed(
                        what,
                        format!("content after the root element at {}", self.here()),
                    ));
                }
                Event::Start(start) => {
                    self.count_node()?;
                    if self.open_at.len() >= self.limits.max_depth {
                        return Err(SourceError::TooLarge {
                            what: what.to_string(),
                            detail: format!(
                                "elements nested deeper than {} levels at {}",
                                self.limits.max_depth,
                                self.here()
                            ),
                        });
                    }
                    let el = element_from(&start, what, &self.limits)?;
                    self.open_at.push(self.open_names.len());
                    self.open_names.push_str(&el.name);
                    return Ok(Some(XmlNode::Open(el)));
                }
                Event::Empty(start) => {
                    self.count_node()?;
                    let el = element_from(&start, what, &self.limits)?;
                    self.pending_close = true;
                    return Ok(Some(XmlNode::Open(el)));
                }
                Event::End(_) => {
                    let Some(at) = self.open_at.pop() else {
                        return Err(SourceError::malformed(
                            what,
                            format!("unexpected closing tag at {}", self.here()),
                        ));
                    };
                    self.open_names.truncate(at);
                    self.root_done |= self.open_at.is_empty();
                    return Ok(Some(XmlNode::Close));
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    if !self.open_at.is_empty() {
                        return Ok(Some(XmlNode::Text(content)));
                    }
                    if !content.trim().is_empty() {
                        return Err(SourceError::malformed(
                            what,
                            format!("text outside the root element at {}", self.here()),
                        ));
                    }
                }
                Event::CData(c) => {
                    if self.open_at.is_empty() {
                        return Err(SourceError::malformed(
                            what,
                            format!("CDATA outside the root element at {}", self.here()),
                        ));
                    }
                    return Ok(Some(XmlNode::Text(c.xml10_content())));
                }
                Event::GeneralRef(r) => {
                    let resolved = resolve_reference(&r.xml10_content()).ok_or_else(|| {
                        SourceError::malformed(
                            what,
                            format!(
                                "undefined or invalid entity reference &{}; at {}",
                                truncate(&r.xml10_content(), 40),
                                self.here()
                            ),
                        )
                    })?;
                    if self.open_at.is_empty() {
                        return Err(SourceError::malformed(
                            what,
                            format!(
                                "entity reference outside the root element at {}",
                                self.here()
                            ),
                        ));
                    }
                    return Ok(Some(XmlNode::Text(Cow::Owned(resolved.to_string()))));
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
                Event::Eof => {
                    if let Some(&at) = self.open_at.last() {
                        return Err(SourceError::malformed(
                            what,
                            format!(
                                "document is truncated: <{}> is not closed at {}",
                                &self.open_names[at..],
                                self.at(self.text.len() as u64)
                            ),
                        ));
                    }
                    if !self.root_done {
                        return Err(SourceError::malformed(
                            what,
                            "empty document: no root element",
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn count_node(&mut self) -> Result<(), SourceError> {
        self.nodes += 1;
        check_nodes(self.nodes, &self.limits, self.what)
    }

    /// "byte offset N (line L, column C)" of the reader's position.
    fn here(&self) -> String {
        self.at(self.reader.buffer_position())
    }

    fn at(&self, offset: u64) -> String {
        format!("byte offset {offset} ({})", line_of(self.text, offset))
    }
}

fn check_nodes(nodes: usize, limits: &XmlLimits, what: &str) -> Result<(), SourceError> {
    if nodes > limits.max_nodes {
        return Err(SourceError::TooLarge {
            what: what.to_string(),
            detail: format!("more than {} elements", limits.max_nodes),
        });
    }
    Ok(())
}

fn element_from(
    start: &BytesStart<'_>,
    what: &str,
    limits: &XmlLimits,
) -> Result<Element, SourceError> {
    let name = local(start.name().as_ref());
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        if attrs.len() >= limits.max_attributes {
            return Err(SourceError::TooLarge {
                what: what.to_string(),
                detail: format!(
                    "element <{}> has more than {} attributes",
                    truncate(&name, 40),
                    limits.max_attributes
                ),
            });
        }
        let attr = attr.map_err(|e| {
            SourceError::malformed(
                what,
                format!("bad attribute on <{}>: {e}", truncate(&name, 40)),
            )
        })?;
        let key = local(attr.key.as_ref());
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| {
                SourceError::malformed(
                    what,
                    format!("bad attribute value on <{}>: {e}", truncate(&name, 40)),
                )
            })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Resolves `lt`, `gt`, `amp`, `apos`, `quot` and character references; nothing else.
fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse::<u32>().ok()?,
            };
            if code == 0 {
                return None;
            }
            char::from_u32(code)
        }
    }
}

fn local(qname: &str) -> String {
    match qname.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => qname.to_string(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// "line L, column C" for a byte offset (1-based).
fn line_of(text: &str, offset: u64) -> String {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = &text.as_bytes()[..end];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    format!("line {line}, column {col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Element, SourceError> {
        parse_document(s.as_bytes(), "test", &XmlLimits::default())
    }

    #[test]
    fn entities_cdata_and_prefixes_are_resolved() {
        let el = parse(
            "<?xml version=\"1.0\"?><ns:a xmlns:ns=\"u\" ns:k=\"R&amp;D\"><b>O&apos;Brien &#x41;&#66;</b><c><![CDATA[<x>&]]></c></ns:a>",
        )
        .unwrap();
        assert_eq!(el.name, "a");
        assert_eq!(el.attr("k"), Some("R&D"));
        assert_eq!(el.child_text("b").as_deref(), Some("O'Brien AB"));
        assert_eq!(el.child_text("c").as_deref(), Some("<x>&"));
    }

    #[test]
    fn billion_laughs_is_refused_before_any_expansion() {
        let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            doc.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            ));
        }
        doc.push_str("]><lolz>&lol9;</lolz>");
        let err = parse(&doc).unwrap_err();
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
    }

    #[test]
    fn external_entity_is_refused() {
        let doc = "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>";
        assert!(parse(doc).unwrap_err().to_string().contains("DOCTYPE"));
        // Without the DTD the reference is undefined and refused as well.
        let err = parse("<foo>&xxe;</foo>").unwrap_err();
        assert!(err.to_string().contains("entity"), "{err}");
    }

    #[test]
    fn deep_nesting_and_many_attributes_are_refused() {
        let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
        assert_eq!(parse(&deep).unwrap_err().error_type(), "too_large");
        let mut many = String::from("<a");
        for i in 0..100_000 {
            many.push_str(&format!(" a{i}=\"x\""));
        }
        many.push_str("/>");
        let started = std::time::Instant::now();
        assert_eq!(parse(&many).unwrap_err().error_type(), "too_large");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn oversized_truncated_and_non_utf8_documents_are_refused() {
        let limits = XmlLimits {
            max_bytes: 10,
            ..XmlLimits::default()
        };
        let err = parse_document(b"<a>0123456789</a>", "t", &limits).unwrap_err();
        assert_eq!(err.error_type(), "too_large");
        let err = parse("<a>\n<b>x</b>\n<c>").unwrap_err();
        assert_eq!(err.error_type(), "malformed");
        assert!(err.to_string().contains("truncated"), "{err}");
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = parse_document(b"<a>\xff\xfe</a>", "t", &XmlLimits::default()).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        assert!(parse("<a></b>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
    }

    #[test]
    fn the_stream_hands_out_nodes_with_depth_and_checks_what_callers_skip() {
        let mut s = XmlStream::new(
            b"<a><b x=\"1\"/><c>t&amp;<![CDATA[d]]></c></a>",
            "t",
            &XmlLimits::default(),
        )
        .unwrap();
        let mut seen = Vec::new();
        while let Some(node) = s.next_node().unwrap() {
            seen.push(match node {
                XmlNode::Open(el) => format!("+{}{:?}@{}", el.name, el.attrs, s.depth()),
                XmlNode::Close => format!("-@{}", s.depth()),
                XmlNode::Text(t) => t.into_owned(),
            });
        }
        let expected = [
            "+a[]@1",
            "+b[(\"x\", \"1\")]@2",
            "-@1",
            "+c[]@2",
            "t",
            "&",
            "d",
            "-@1",
            "-@0",
        ];
        assert_eq!(seen, expected);
        // A caller that only looks at the root's children still gets every limit applied deeper.
        let drain = |doc: &str, limits: &XmlLimits| -> SourceError {
            let mut s = XmlStream::new(doc.as_bytes(), "t", limits).unwrap();
            loop {
                match s.next_node() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{doc} was accepted"),
                    Err(e) => return e,
                }
            }
        };
        let few_nodes = XmlLimits {
            max_nodes: 3,
            ..XmlLimits::default()
        };
        let err = drain("<a><b><c><d/></c></b></a>", &few_nodes);
        assert_eq!(err.error_type(), "too_large");
        let few_attrs = XmlLimits {
            max_attributes: 2,
            ..XmlLimits::default()
        };
        let err = drain("<a><b><c p=\"1\" q=\"2\" r=\"3\"/></b></a>", &few_attrs);
        assert!(err.to_string().contains("attributes"), "{err}");
        let err = drain("<a><b><c>&nope;</c></b></a>", &XmlLimits::default());
        assert!(err.to_string().contains("entity"), "{err}");
        let err = drain("<a><b><c></b></a>", &XmlLimits::default());
        assert_eq!(err.error_type(), "malformed");
    }

    #[test]
    fn html_pages_are_named_as_such() {
        let err = parse("\n<!DOCTYPE html><html><body>Login</body></html>").unwrap_err();
        assert!(err.to_string().contains("HTML page"), "{err}");
    }
}
