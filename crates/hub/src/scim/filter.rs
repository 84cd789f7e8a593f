//! SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation on rendered resources.
//!
//! Operators `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (…)`, grouping and value paths
//! (`emails[type eq "work" and value co "@x"]`). Attribute names are case-insensitive; string
//! comparisons are case-insensitive except for `caseExact` attributes (`id`, `externalId`,
//! `meta`, reference values); `meta.created`/`meta.lastModified` compare as instants.

use super::schema::{Kind, AGENT_EXTENSION};
use super::ScimError;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An attribute path: `attr`, `attr.sub`, optionally prefixed by a schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// True when the path names the agent extension (`urn:…:agent:2.0:User:attr`).
    pub extension: bool,
    /// Attribute name as written.
    pub attr: String,
    /// Sub-attribute, if any.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `attr`, `attr.sub`, `urn:…:User:attr[.sub]`; `None` when malformed. A bare
    /// extension URN gives `attr` = the URN.
    pub fn parse(text: &str, kind: Kind) -> Option<AttrPath> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let ext = AGENT_EXTENSION.to_ascii_lowercase();
        let core = kind.schema().to_ascii_lowercase();
        let (extension, rest) = if lower == ext {
            return Some(AttrPath {
                extension: false,
                attr: AGENT_EXTENSION.to_string(),
                sub: None,
            });
        } else if lower.starts_with(&format!("{ext}:")) {
            (true, &text[ext.len() + 1..])
        } else if lower.starts_with(&format!("{core}:")) {
            (false, &text[core.len() + 1..])
        } else if lower.starts_with("urn:") {
            return None;
        } else {
            (false, text)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s.to_string())),
            None => (rest, None),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !valid(attr) || sub.as_deref().is_some_and(|s| !valid(s)) {
            return None;
        }
        Some(AttrPath {
            extension,
            attr: attr.to_string(),
            sub,
        })
    }

    /// True when the path is the bare extension URN.
    pub fn is_extension_object(&self) -> bool {
        self.attr == AGENT_EXTENSION
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Co,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less or equal.
    Le,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare(AttrPath, Op, Value),
    /// `path pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some element of multi-valued `attr` matches.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidFilter", detail)
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '[' => {
                out.push(Token::OpenBracket);
                i += 1;
            }
            ']' => {
                out.push(Token::CloseBracket);
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(invalid("unterminated string in the filter"));
                }
                let raw: String = chars[start..=i].iter().collect();
                let value: Value = serde_json::from_str(&raw)
                    .map_err(|_| invalid(format!("invalid string {raw} in the filter")))?;
                out.push(Token::Literal(value));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '\t' | '(' | ')' | '[' | ']' | '"')
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    kind: Kind,
    check_names: bool,
    _text: &'a str,
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or_expr(&mut self, prefix: Option<&AttrPath>) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(prefix)?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            let right = self.and_expr(prefix)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, prefix: Option<&AttrPath>) -> Result<Filter, ScimError> {
        let mut left = self.unary(prefix)?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            let right = self.unary(prefix)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ScimError> {
        if self.tokens.get(self.pos) == Some(&token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(invalid(format!("expected {what} in the filter")))
        }
    }

    fn unary(&mut self, prefix: Option<&AttrPath>) -> Result<Filter, ScimError> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            self.expect(Token::Open, "'(' after 'not'")?;
            let inner = self.or_expr(prefix)?;
            self.expect(Token::Close, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or_expr(prefix)?;
            self.expect(Token::Close, "')'")?;
            return Ok(inner);
        }
        let Some(Token::Word(word)) = self.tokens.get(self.pos).cloned() else {
            return Err(invalid("expected an attribute name in the filter"));
        };
        self.pos += 1;
        let path = AttrPath::parse(&word, self.kind)
            .ok_or_else(|| invalid(format!("'{word}' is not an attribute path")))?;
        if self.tokens.get(self.pos) == Some(&Token::OpenBracket) {
            if prefix.is_some() || path.sub.is_some() {
                return Err(invalid("value paths cannot be nested"));
            }
            self.check(&path, None)?;
            self.pos += 1;
            let inner = self.or_expr(Some(&path))?;
            self.expect(Token::CloseBracket, "']'")?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.check(&path, prefix)?;
        let Some(op) = self.peek_word() else {
            return Err(invalid(format!("expected an operator after '{word}'")));
        };
        self.pos += 1;
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(invalid(format!("unknown operator '{other}'"))),
        };
        let value = match self.tokens.get(self.pos).cloned() {
            Some(Token::Literal(v)) => v,
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                number => serde_json::from_str::<serde_json::Number>(number)
                    .map(Value::Number)
                    .map_err(|_| invalid(format!("'{number}' is not a value: quote strings")))?,
            },
            _ => return Err(invalid("expected a value after the operator")),
        };
        self.pos += 1;
        Ok(Filter::Compare(path, op, value))
    }

    fn check(&self, path: &AttrPath, prefix: Option<&AttrPath>) -> Result<(), ScimError> {
        if !self.check_names {
            return Ok(());
        }
        let ok = match prefix {
            Some(p) => {
                path.sub.is_none() && self.kind.knows(p.extension, &p.attr, Some(&path.attr))
            }
            None => self
                .kind
                .knows(path.extension, &path.attr, path.sub.as_deref()),
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(format!(
                "unknown attribute '{}' for {}: see /Schemas",
                path.attr,
                self.kind.name()
            )))
        }
    }
}

/// Parses a filter for a resource type; unknown attributes are 400 `invalidFilter` when
/// `check_names` is set.
pub fn parse(text: &str, kind: Kind, check_names: bool) -> Result<Filter, ScimError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        kind,
        check_names,
        _text: text,
    };
    let filter = parser.or_expr(None)?;
    if parser.pos != parser.tokens.len() {
        return Err(invalid("unexpected text after the end of the filter"));
    }
    Ok(filter)
}

/// The value of `key` in an object, compared case-insensitively.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The values a path designates in a resource (flattened over multi-valued attributes;
/// complex elements without a sub-attribute stand for their `value`).
fn resolve<'a>(obj: &'a Map<String, Value>, path: &AttrPath) -> Vec<&'a Value> {
    let container = if path.extension {
        match get_ci(obj, AGENT_EXTENSION) {
            Some(Value::Object(ext)) => ext,
            _ => return Vec::new(),
        }
    } else {
        obj
    };
    let Some(top) = get_ci(container, &path.attr) else {
        return Vec::new();
    };
    let elements: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for element in elements {
        match (&path.sub, element) {
            (Some(sub), Value::Object(o)) => out.extend(get_ci(o, sub)),
            (Some(_), _) => {}
            (None, Value::Object(o)) => out.extend(get_ci(o, "value")),
            (None, v) => out.push(v),
        }
    }
    out
}

fn is_time_attr(path: &AttrPath) -> bool {
    path.attr.eq_ignore_ascii_case("meta")
        && path.sub.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("created") || s.eq_ignore_ascii_case("lastModified")
        })
}

fn compare_one(path: &AttrPath, op: Op, actual: &Value, expected: &Value) -> bool {
    if let (Value::String(a), Value::String(e)) = (actual, expected) {
        if is_time_attr(path) && !matches!(op, Op::Co | Op::Sw | Op::Ew) {
            if let (Ok(a), Ok(e)) = (
                OffsetDateTime::parse(a, &Rfc3339),
                OffsetDateTime::parse(e, &Rfc3339),
            ) {
                return ordered(op, a.cmp(&e));
            }
        }
        let exact = super::schema::Kind::case_exact(&path.attr, path.sub.as_deref());
        let (a, e) = if exact {
            (a.clone(), e.clone())
        } else {
            (a.to_lowercase(), e.to_lowercase())
        };
        return match op {
            Op::Co => a.contains(&e),
            Op::Sw => a.starts_with(&e),
            Op::Ew => a.ends_with(&e),
            _ => ordered(op, a.cmp(&e)),
        };
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|o| ordered(op, o)),
            _ => false,
        },
        (Value::Bool(a), Value::Bool(e)) => match op {
            Op::Eq => a == e,
            Op::Ne => a != e,
            _ => false,
        },
        _ => false,
    }
}

fn ordered(op: Op, ordering: Ordering) -> bool {
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// True when a rendered resource matches the filter.
pub fn matches(filter: &Filter, obj: &Map<String, Value>) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, obj) && matches(b, obj),
        Filter::Or(a, b) => matches(a, obj) || matches(b, obj),
        Filter::Not(a) => !matches(a, obj),
        Filter::Present(path) => resolve(obj, path).into_iter().any(present),
        Filter::Compare(path, Op::Ne, expected) => !resolve(obj, path)
            .into_iter()
            .any(|v| compare_one(path, Op::Eq, v, expected)),
        Filter::Compare(path, op, expected) => resolve(obj, path)
            .into_iter()
            .any(|v| compare_one(path, *op, v, expected)),
        Filter::ValuePath(path, inner) => element_objects(obj, path)
            .into_iter()
            .any(|element| matches(inner, element)),
    }
}

/// The elements of a multi-valued complex attribute, as objects.
fn element_objects<'a>(
    obj: &'a Map<String, Value>,
    path: &AttrPath,
) -> Vec<&'a Map<String, Value>> {
    let container = if path.extension {
        match get_ci(obj, AGENT_EXTENSION) {
            Some(Value::Object(ext)) => ext,
            _ => return Vec::new(),
        }
    } else {
        obj
    };
    match get_ci(container, &path.attr) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    }
}

/// True when the filter reads attributes that only the child rows give (groups of users, the
/// agent extension of synced users, members of groups).
pub fn needs_children(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => needs_children(a) || needs_children(b),
        Filter::Not(a) => needs_children(a),
        Filter::Present(p) | Filter::Compare(p, _, _) | Filter::ValuePath(p, _) => {
            path_needs_children(p)
        }
    }
}

/// True when a path reads attributes that only the child rows give.
pub fn path_needs_children(p: &AttrPath) -> bool {
    p.extension
        || p.is_extension_object()
        || p.attr.eq_ignore_ascii_case("groups")
        || p.attr.eq_ignore_ascii_case("members")
}

/// The sort key of a resource: the first value of `path`, as text (lower-cased unless
/// `caseExact`), numbers and booleans as their JSON text.
pub fn sort_key(obj: &Map<String, Value>, path: &AttrPath) -> Option<String> {
    let first = resolve(obj, path).into_iter().next()?;
    match first {
        Value::String(s) if Kind::case_exact(&path.attr, path.sub.as_deref()) => Some(s.clone()),
        Value::String(s) => Some(s.to_lowercase()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}
