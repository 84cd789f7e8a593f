//! The SQL subset the AXL emulator understands:
//! `SELECT [SKIP n] [FIRST m] col[, col…]|* FROM enduser [WHERE cond [AND cond…]]
//! [ORDER BY col [ASC|DESC]]`, where `cond` is `col IN ('a', 'b', …)` or `col = 'a'`.
//! Keywords are case-insensitive; string literals escape `'` by doubling it.

use crate::dataset::EndUser;

/// The `enduser` columns served.
pub const COLUMNS: &[&str] = &[
    "pkid",
    "userid",
    "firstname",
    "lastname",
    "mailid",
    "directoryuri",
    "status",
    "telephonenumber",
    "department",
    "manager",
    "displayname",
];

/// Why a statement was refused (maps to an AXL fault).
#[derive(Clone, Debug, PartialEq)]
pub enum SqlError {
    /// axlcode 201: not in the supported grammar.
    Syntax(String),
    /// axlcode 217: unknown column.
    UnknownColumn(String),
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Rows skipped.
    pub skip: usize,
    /// Maximum rows returned.
    pub first: Option<usize>,
    /// Indexes into [`COLUMNS`], in select order.
    pub columns: Vec<usize>,
    /// Conditions, all of which must hold: (column index, allowed values).
    pub filters: Vec<(usize, Vec<String>)>,
    /// Sort column and descending flag.
    pub order: Option<(usize, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Num(usize),
    Str(String),
    Comma,
    LParen,
    RParen,
    Star,
    Eq,
    Semi,
}

fn syntax(msg: &str) -> SqlError {
    SqlError::Syntax(msg.to_string())
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, SqlError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '(' => (out.push(Tok::LParen), i += 1).1,
            ')' => (out.push(Tok::RParen), i += 1).1,
            '*' => (out.push(Tok::Star), i += 1).1,
            '=' => (out.push(Tok::Eq), i += 1).1,
            ';' => (out.push(Tok::Semi), i += 1).1,
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text.parse().map_err(|_| syntax("number out of range"))?;
                out.push(Tok::Num(n));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Word(
                    chars[start..i]
                        .iter()
                        .collect::<String>()
                        .to_ascii_lowercase(),
                ));
            }
            _ => return Err(syntax("unexpected character")),
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w == kw) {
            self.pos += 1;
            return true;
        }
        false
    }
    fn expect_keyword(&mut self, kw: &str) -> Result<(), SqlError> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(syntax(&format!("expected {}", kw.to_uppercase())))
        }
    }
    fn number(&mut self) -> Result<usize, SqlError> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(n),
            _ => Err(syntax("expected a number")),
        }
    }
    fn column(&mut self) -> Result<usize, SqlError> {
        match self.next() {
            Some(Tok::Word(w)) => column_index(&w),
            _ => Err(syntax("expected a column name")),
        }
    }
    fn literal(&mut self) -> Result<String, SqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            Some(Tok::Num(n)) => Ok(n.to_string()),
            _ => Err(syntax("expected a literal")),
        }
    }
}

fn column_index(name: &str) -> Result<usize, SqlError> {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .ok_or_else(|| SqlError::UnknownColumn(name.to_string()))
}

/// Parses one statement of the supported subset.
pub fn parse(sql: &str) -> Result<Query, SqlError> {
    let mut p = P {
        toks: tokenize(sql)?,
        pos: 0,
    };
    p.expect_keyword("select")?;
    let skip = if p.keyword("skip") { p.number()? } else { 0 };
    let first = if p.keyword("first") || p.keyword("limit") {
        Some(p.number()?)
    } else {
        None
    };
    let mut columns = Vec::new();
    if matches!(p.peek(), Some(Tok::Star)) {
        p.pos += 1;
        columns.extend(0..COLUMNS.len());
    } else {
        loop {
            columns.push(p.column()?);
            if !matches!(p.peek(), Some(Tok::Comma)) {
                break;
            }
            p.pos += 1;
        }
    }
    p.expect_keyword("from")?;
    match p.next() {
        Some(Tok::Word(t)) if t == "enduser" => {}
        Some(Tok::Word(t)) => {
            return Err(syntax(&format!("table {t} is not served by this emulator")))
        }
        _ => return Err(syntax("expected a table name")),
    }
    let mut filters = Vec::new();
    if p.keyword("where") {
        loop {
            let col = p.column()?;
            let values = if p.keyword("in") {
                if p.next() != Some(Tok::LParen) {
                    return Err(syntax("expected ( after IN"));
                }
                let mut values = vec![p.literal()?];
                loop {
                    match p.next() {
                        Some(Tok::Comma) => values.push(p.literal()?),
                        Some(Tok::RParen) => break,
                        _ => return Err(syntax("expected , or ) in IN list")),
                    }
                }
                values
            } else if p.next() == Some(Tok::Eq) {
                vec![p.literal()?]
            } else {
                return Err(syntax("expected IN or ="));
            };
            filters.push((col, values));
            if !p.keyword("and") {
                break;
            }
        }
    }
    let mut order = None;
    if p.keyword("order") {
        p.expect_keyword("by")?;
        let col = p.column()?;
        let desc = if p.keyword("desc") {
            true
        } else {
            p.keyword("asc");
            false
        };
        order = Some((col, desc));
    }
    if matches!(p.peek(), Some(Tok::Semi)) {
        p.pos += 1;
    }
    if p.peek().is_some() {
        return Err(syntax("unexpected text after the statement"));
    }
    Ok(Query {
        skip,
        first,
        columns,
        filters,
        order,
    })
}

/// The value of column `col` (index into [`COLUMNS`]); `None` is SQL NULL.
pub fn value(u: &EndUser, col: usize) -> Option<String> {
    value_ref(u, col).map(std::borrow::Cow::into_owned)
}

/// Like [`value`], without copying the text columns.
fn value_ref(u: &EndUser, col: usize) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match col {
        0 => Some(Cow::Borrowed(u.pkid.as_str())),
        1 => Some(Cow::Borrowed(u.userid.as_str())),
        2 => Some(Cow::Borrowed(u.firstname.as_str())),
        3 => Some(Cow::Borrowed(u.lastname.as_str())),
        4 => u.mailid.as_deref().map(Cow::Borrowed),
        5 => u.directoryuri.as_deref().map(Cow::Borrowed),
        6 => Some(Cow::Owned(u.status.to_string())),
        7 => u.telephonenumber.as_deref().map(Cow::Borrowed),
        8 => u.department.as_deref().map(Cow::Borrowed),
        9 => u.manager.as_deref().map(Cow::Borrowed),
        10 => u.displayname.as_deref().map(Cow::Borrowed),
        _ => None,
    }
}

/// Runs the query: filter, order, SKIP/FIRST, project. Each row is `(column, value)` pairs.
pub fn execute(q: &Query, users: &[EndUser]) -> Vec<Vec<(&'static str, Option<String>)>> {
    // Hash the IN lists once: a full sync sends ~100 queries of 200 ids over 24,000 users, and a
    // linear scan per row would make the emulator, not the client, the bottleneck.
    let sets: Vec<(usize, std::collections::HashSet<&str>)> = q
        .filters
        .iter()
        .map(|(col, values)| (*col, values.iter().map(String::as_str).collect()))
        .collect();
    let mut matched: Vec<&EndUser> = users
        .iter()
        .filter(|u| {
            sets.iter().all(|(col, set)| match value_ref(u, *col) {
                Some(v) => set.contains(v.as_ref()),
                None => false,
            })
        })
        .collect();
    if let Some((col, desc)) = q.order {
        matched.sort_by_key(|u| value(u, col));
        if desc {
            matched.reverse();
        }
    }
    matched
        .into_iter()
        .skip(q.skip)
        .take(q.first.unwrap_or(usize::MAX))
        .map(|u| {
            q.columns
                .iter()
                .map(|c| (COLUMNS[*c], value(u, *c)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paged_in_list_with_doubled_quote() {
        let q = parse("select skip 10 first 5 userid, MAILID from EndUser where userid in ('o''brien', 'b') order by userid desc;")
            .unwrap();
        assert_eq!(q.skip, 10);
        assert_eq!(q.first, Some(5));
        assert_eq!(q.columns, vec![1, 4]);
        assert_eq!(
            q.filters,
            vec![(1, vec!["o'brien".to_string(), "b".to_string()])]
        );
        assert_eq!(q.order, Some((1, true)));
    }

    #[test]
    fn rejects_unknown_column_and_bad_syntax() {
        assert_eq!(
            parse("select nope from enduser"),
            Err(SqlError::UnknownColumn("nope".into()))
        );
        assert!(matches!(
            parse("select * from enduser, device"),
            Err(SqlError::Syntax(_))
        ));
        assert!(matches!(
            parse("select userid from enduser where userid in ('a"),
            Err(SqlError::Syntax(_))
        ));
        assert!(matches!(
            parse("delete from enduser"),
            Err(SqlError::Syntax(_))
        ));
        assert!(matches!(parse(""), Err(SqlError::Syntax(_))));
    }
}
