//! Paging and the directory view shared by the cloud emulators: which slice of the user list a
//! request gets (with the paging fault modes applied), opaque cursors, and stable ids derived
//! from the CUCM `pkid` so that a rename never changes a cloud id.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;

use crate::dataset::{ContactCentre, EndUser, Resource, Team};

/// How a page fails when [`FaultKnobs::fail_page_once`] fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFailure {
    /// This HTTP status with the platform's error body.
    Status(u16),
    /// 200 with a body that is not valid JSON.
    Malformed,
}

/// Fault modes of a cloud emulator; every mode is off by default. Page indexes are 0-based
/// (index 0 is the first page of a walk, whatever the platform's own numbering). Paging faults
/// apply to the user list only; `unknown_member` applies to teams/groups.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultKnobs {
    /// Every N-th authenticated API request answers 429 (`None`: never).
    pub throttle_every: Option<usize>,
    /// The next N authenticated API requests answer 429.
    pub throttle_next: usize,
    /// `Retry-After` seconds on a 429 from the two knobs above (default 1).
    pub retry_after_secs: u64,
    /// The page with this index fails once in this way, then the knob clears itself.
    pub fail_page_once: Option<(usize, PageFailure)>,
    /// `(from, to)`: the next link/token of page `from` points back to page `to` (a loop).
    pub next_loop: Option<(usize, usize)>,
    /// Every page after the first also repeats the last N users of the previous page.
    pub duplicate_across_pages: usize,
    /// The requested page size is ignored and pages hold this many users (e.g. 25).
    pub forced_page_size: Option<usize>,
    /// A page with this index is answered empty but with a next link/token; following it gives
    /// the real page (opaque cursors and Webex v2 links). On Webex v1 (no links) the page is
    /// simply empty.
    pub empty_page: Option<usize>,
    /// Teams/groups also list a member id that is no user of the directory.
    pub unknown_member: bool,
}

impl Default for FaultKnobs {
    fn default() -> Self {
        FaultKnobs {
            throttle_every: None,
            throttle_next: 0,
            retry_after_secs: 1,
            fail_page_once: None,
            next_loop: None,
            duplicate_across_pages: 0,
            forced_page_size: None,
            empty_page: None,
            unknown_member: false,
        }
    }
}

/// The member id `unknown_member` adds (never a user of the directory).
pub const UNKNOWN_MEMBER_KEY: &str = "unknown-member";

/// A position in a list: where the page starts, and whether the empty-page fault was served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Cursor {
    pub offset: usize,
    pub emptied: bool,
}

/// What one request gets.
#[derive(Debug)]
pub(crate) struct Page {
    /// Indexes into the list, in order.
    pub items: Vec<usize>,
    /// Page size actually used.
    pub size: usize,
    /// 0-based page index.
    pub index: usize,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
    /// The injected failure, if this page must fail.
    pub failure: Option<PageFailure>,
}

/// Plans the page at `cursor` of a list of `total` items; `faults` false for lists the paging
/// faults do not apply to.
pub(crate) fn plan(
    total: usize,
    cursor: Cursor,
    size: usize,
    knobs: &mut FaultKnobs,
    faults: bool,
) -> Page {
    let size = if faults {
        knobs.forced_page_size.unwrap_or(size)
    } else {
        size
    }
    .max(1);
    let index = cursor.offset / size;
    let mut page = Page {
        items: Vec::new(),
        size,
        index,
        next: None,
        failure: None,
    };
    if faults {
        if let Some((at, how)) = knobs.fail_page_once {
            if at == index {
                knobs.fail_page_once = None;
                page.failure = Some(how);
                return page;
            }
        }
        if knobs.empty_page == Some(index) && !cursor.emptied {
            page.next = Some(Cursor {
                offset: cursor.offset,
                emptied: true,
            });
            return page;
        }
    }
    let start = cursor.offset.min(total);
    let end = (cursor.offset + size).min(total);
    if faults && index > 0 && knobs.duplicate_across_pages > 0 {
        let from = start.saturating_sub(knobs.duplicate_across_pages);
        page.items.extend(from..start);
    }
    page.items.extend(start..end);
    if end < total {
        page.next = Some(Cursor {
            offset: end,
            emptied: false,
        });
    }
    if faults {
        if let Some((from, to)) = knobs.next_loop {
            if from == index {
                page.next = Some(Cursor {
                    offset: to * size,
                    emptied: false,
                });
            }
        }
    }
    page
}

/// An opaque token for a cursor: base64url of salt, offset and flag, refused by another salt.
pub(crate) fn encode_cursor(salt: &str, c: Cursor) -> String {
    let raw = format!("{salt}:{}:{}", c.offset, u8::from(c.emptied));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The cursor in a token made by [`encode_cursor`] with the same salt.
pub(crate) fn decode_cursor(salt: &str, token: &str) -> Option<Cursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.split(':');
    if parts.next()? != salt {
        return None;
    }
    let offset = parts.next()?.parse().ok()?;
    let emptied = parts.next()? == "1";
    Some(Cursor { offset, emptied })
}

/// A random salt for one emulator instance.
pub(crate) fn new_salt() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

fn fnv(seed: u64, s: &str) -> u64 {
    let mut h = seed;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// The splitmix64 finaliser: nearby inputs give unrelated outputs.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 16 stable bytes for `(namespace, key)`.
pub(crate) fn stable_bytes(namespace: &str, key: &str) -> [u8; 16] {
    let joined = format!("{namespace}\u{0}{key}");
    let a = fnv(0xcbf2_9ce4_8422_2325, &joined);
    let b = mix(fnv(0x8422_2325_cbf2_9ce4, &joined) ^ a);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// A stable lowercase UUID (version 4 layout) for `(namespace, key)`.
pub(crate) fn stable_uuid(namespace: &str, key: &str) -> String {
    let mut b = stable_bytes(namespace, key);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One directory user: a resource, its CUCM end user (if any) and its stable key.
pub(crate) struct DirUser<'a> {
    pub r: &'a Resource,
    pub eu: Option<&'a EndUser>,
    /// The end user's `pkid` (stable across renames), else `userid:<user id>`.
    pub key: Cow<'a, str>,
}

impl DirUser<'_> {
    /// E-mail from the end user's `mailid`.
    pub fn mail(&self) -> Option<&str> {
        self.eu.and_then(|e| e.mailid.as_deref())
    }
}

/// The directory: every resource in data-set order, with its end user.
pub(crate) fn directory(cc: &ContactCentre) -> Vec<DirUser<'_>> {
    let index: HashMap<&str, &EndUser> = cc
        .end_users
        .iter()
        .map(|e| (e.userid.as_str(), e))
        .collect();
    cc.resources
        .iter()
        .map(|r| {
            let eu = index.get(r.user_id.as_str()).copied();
            let key = match eu {
                Some(e) => Cow::Borrowed(e.pkid.as_str()),
                None => Cow::Owned(format!("userid:{}", r.user_id)),
            };
            DirUser { r, eu, key }
        })
        .collect()
}

/// The directory users at these resource indexes, in order. Fast when end users are in the
/// same order as resources (as generated): the name index is built only on a mismatch.
pub(crate) fn directory_at<'a>(cc: &'a ContactCentre, items: &[usize]) -> Vec<DirUser<'a>> {
    let mut index: Option<HashMap<&str, &EndUser>> = None;
    let mut out = Vec::with_capacity(items.len());
    for &i in items {
        let Some(r) = cc.resources.get(i) else {
            continue;
        };
        let eu = match cc.end_users.get(i) {
            Some(e) if e.userid == r.user_id => Some(e),
            _ => index
                .get_or_insert_with(|| {
                    cc.end_users
                        .iter()
                        .map(|e| (e.userid.as_str(), e))
                        .collect()
                })
                .get(r.user_id.as_str())
                .copied(),
        };
        let key = match eu {
            Some(e) => Cow::Borrowed(e.pkid.as_str()),
            None => Cow::Owned(format!("userid:{}", r.user_id)),
        };
        out.push(DirUser { r, eu, key });
    }
    out
}

/// Indexes (into `dir`) of the members of `team`.
pub(crate) fn members(dir: &[DirUser<'_>], team: &Team) -> Vec<usize> {
    dir.iter()
        .enumerate()
        .filter(|(_, u)| u.r.team.as_ref().map(|(id, _)| *id) == Some(team.team_id))
        .map(|(i, _)| i)
        .collect()
}

/// Parses an optional non-negative integer query value: `Ok(None)` when absent.
pub(crate) fn parse_num(q: &HashMap<String, String>, name: &str) -> Result<Option<usize>, String> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| format!("{name} must be a non-negative integer, got '{v}'")),
    }
}

/// The query string as a map (last value wins).
pub(crate) fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query.map(crate::oauth::parse_form).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_walk_covers_every_item_once() {
        let mut k = FaultKnobs::default();
        let mut c = Cursor::default();
        let mut seen = Vec::new();
        loop {
            let p = plan(10, c, 3, &mut k, true);
            seen.extend(p.items);
            match p.next {
                Some(n) => c = n,
                None => break,
            }
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn empty_page_then_real_page() {
        let mut k = FaultKnobs {
            empty_page: Some(1),
            ..FaultKnobs::default()
        };
        let p = plan(
            10,
            Cursor {
                offset: 3,
                emptied: false,
            },
            3,
            &mut k,
            true,
        );
        assert!(p.items.is_empty());
        let p = plan(10, p.next.unwrap(), 3, &mut k, true);
        assert_eq!(p.items, vec![3, 4, 5]);
    }

    #[test]
    fn cursor_tokens_round_trip_and_refuse_other_salts() {
        let c = Cursor {
            offset: 42,
            emptied: true,
        };
        let t = encode_cursor("abc", c);
        assert_eq!(decode_cursor("abc", &t), Some(c));
        assert_eq!(decode_cursor("abd", &t), None);
        assert_eq!(decode_cursor("abc", "%%%"), None);
        assert_ne!(stable_uuid("a", "x"), stable_uuid("b", "x"));
        assert_eq!(stable_uuid("a", "x").len(), 36);
    }
}
