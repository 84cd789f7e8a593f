//! SCIM PATCH (RFC 7644 §3.5.2) applied to a rendered resource; the result is then stored as
//! if it had been sent with PUT (so it is validated the same way).
//!
//! Paths: `attr`, `attr.sub`, `urn:…:attr`, the bare extension URN, and value paths
//! `attr[filter]` / `attr[filter].sub` (e.g. `emails[type eq "work"].value`,
//! `members[value eq "…"]`). `add` with a value path that matches nothing and a simple
//! `sub eq "x"` filter appends a new element `{sub: "x", …}` (what Entra ID sends).

use super::filter::{self, get_ci, AttrPath, Filter, Op};
use super::schema::{Kind, AGENT_EXTENSION, PATCH_OP};
use super::ScimError;
use serde_json::{Map, Value};

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Add,
    Replace,
    Remove,
}

/// A parsed PATCH path.
struct Target {
    path: AttrPath,
    filter: Option<Filter>,
    /// Sub-attribute after a value path (`emails[…].value`).
    sub_after: Option<String>,
}

fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError::bad("noTarget", detail)
}

fn invalid_path(path: &str) -> ScimError {
    ScimError::bad("invalidPath", format!("'{path}' is not a valid PATCH path"))
}

fn parse_target(text: &str, kind: Kind) -> Result<Target, ScimError> {
    let (head, filter, sub_after) = match text.find('[') {
        Some(open) => {
            let close = text.rfind(']').ok_or_else(|| invalid_path(text))?;
            if close < open {
                return Err(invalid_path(text));
            }
            let inner = &text[open + 1..close];
            let after = &text[close + 1..];
            let sub_after = match after.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                None if after.is_empty() => None,
                _ => return Err(invalid_path(text)),
            };
            let f = filter::parse(inner, kind, false)
                .map_err(|e| ScimError::bad("invalidFilter", e.detail))?;
            (&text[..open], Some(f), sub_after)
        }
        None => (text, None, None),
    };
    let path = AttrPath::parse(head, kind).ok_or_else(|| invalid_path(text))?;
    if filter.is_some() && path.sub.is_some() {
        return Err(invalid_path(text));
    }
    Ok(Target {
        path,
        filter,
        sub_after,
    })
}

/// The key of `name` in `obj` (its existing spelling, else `name`).
fn key_of(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

/// The object that holds the path's attribute (the extension object for extension paths).
fn container<'a>(
    doc: &'a mut Map<String, Value>,
    path: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    if !path.extension {
        return Some(doc);
    }
    let key = key_of(doc, AGENT_EXTENSION);
    if !doc.contains_key(&key) {
        if !create {
            return None;
        }
        doc.insert(key.clone(), Value::Object(Map::new()));
    }
    doc.get_mut(&key).and_then(Value::as_object_mut)
}

/// Adds `value` at `key`: arrays get new elements appended (no duplicates), objects merged.
fn add_value(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let key = key_of(obj, key);
    match (obj.get_mut(&key), value) {
        (Some(Value::Array(items)), Value::Array(new)) => {
            for v in new {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
        }
        (Some(Value::Array(items)), v) => {
            if !items.contains(&v) {
                items.push(v);
            }
        }
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                let k = key_of(existing, &k);
                existing.insert(k, v);
            }
        }
        (_, v) => {
            obj.insert(key, v);
        }
    }
}

/// Applies a no-path `add`/`replace`: every member of the value object.
fn apply_object(doc: &mut Map<String, Value>, verb: Verb, value: Value) -> Result<(), ScimError> {
    let Value::Object(members) = value else {
        return Err(ScimError::bad(
            "invalidValue",
            "an operation without a path needs an object value",
        ));
    };
    for (k, v) in members {
        if k.eq_ignore_ascii_case(AGENT_EXTENSION) {
            let Value::Object(ext_members) = v else {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("{AGENT_EXTENSION} must be an object"),
                ));
            };
            let key = key_of(doc, AGENT_EXTENSION);
            let ext = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            if let Some(ext) = ext.as_object_mut() {
                for (ek, ev) in ext_members {
                    set_or_add(ext, verb, &ek, ev);
                }
            }
            continue;
        }
        set_or_add(doc, verb, &k, v);
    }
    Ok(())
}

fn set_or_add(obj: &mut Map<String, Value>, verb: Verb, key: &str, value: Value) {
    if verb == Verb::Add {
        add_value(obj, key, value);
    } else {
        let k = key_of(obj, key);
        obj.insert(k, value);
    }
}

/// The simple `sub eq "x"` of an add-with-filter that matched nothing, for a new element.
fn seed_element(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(p, Op::Eq, v) if p.sub.is_none() && !p.extension => {
            let mut m = Map::new();
            m.insert(p.attr.clone(), v.clone());
            Some(m)
        }
        _ => None,
    }
}

fn apply_filtered(
    obj: &mut Map<String, Value>,
    verb: Verb,
    target: &Target,
    filter: &Filter,
    value: Option<Value>,
    text: &str,
) -> Result<(), ScimError> {
    let key = key_of(obj, &target.path.attr);
    let mut items = match obj.remove(&key) {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_object().is_some_and(|o| filter::matches(filter, o)))
        .map(|(i, _)| i)
        .collect();
    match verb {
        Verb::Remove => {
            if let Some(sub) = &target.sub_after {
                for &i in &matched {
                    if let Some(o) = items[i].as_object_mut() {
                        let k = key_of(o, sub);
                        o.remove(&k);
                    }
                }
            } else {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            }
        }
        Verb::Add | Verb::Replace => {
            let value = value
                .ok_or_else(|| ScimError::bad("invalidValue", format!("'{text}' needs a value")))?;
            if matched.is_empty() {
                let seed = match (verb, seed_element(filter)) {
                    (Verb::Add, Some(seed)) => seed,
                    _ => {
                        obj.insert(key, Value::Array(items));
                        return Err(no_target(format!("no value matches '{text}'")));
                    }
                };
                let mut element = seed;
                match (&target.sub_after, value) {
                    (Some(sub), v) => {
                        element.insert(sub.clone(), v);
                    }
                    (None, Value::Object(o)) => element.extend(o),
                    (None, _) => {
                        return Err(ScimError::bad(
                            "invalidValue",
                            format!("'{text}' needs an object value"),
                        ))
                    }
                }
                items.push(Value::Object(element));
            } else {
                for &i in &matched {
                    let Some(o) = items[i].as_object_mut() else {
                        continue;
                    };
                    match (&target.sub_after, &value) {
                        (Some(sub), v) => {
                            let k = key_of(o, sub);
                            o.insert(k, v.clone());
                        }
                        (None, Value::Object(new)) => {
                            for (k, v) in new {
                                let k2 = key_of(o, k);
                                o.insert(k2, v.clone());
                            }
                        }
                        (None, _) => {
                            return Err(ScimError::bad(
                                "invalidValue",
                                format!("'{text}' needs an object value"),
                            ))
                        }
                    }
                }
            }
        }
    }
    if !items.is_empty() {
        obj.insert(key, Value::Array(items));
    }
    Ok(())
}

fn apply_one(
    doc: &mut Map<String, Value>,
    kind: Kind,
    verb: Verb,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(text) = path.map(str::trim).filter(|p| !p.is_empty()) else {
        if verb == Verb::Remove {
            return Err(no_target("a remove operation needs a path"));
        }
        let value =
            value.ok_or_else(|| ScimError::bad("invalidValue", "the operation needs a value"))?;
        return apply_object(doc, verb, value);
    };
    let target = parse_target(text, kind)?;
    if target.path.is_extension_object() {
        return match verb {
            Verb::Remove => {
                let k = key_of(doc, AGENT_EXTENSION);
                doc.remove(&k);
                Ok(())
            }
            _ => {
                let value = value
                    .ok_or_else(|| ScimError::bad("invalidValue", "the operation needs a value"))?;
                let mut wrapped = Map::new();
                wrapped.insert(AGENT_EXTENSION.to_string(), value);
                apply_object(doc, verb, Value::Object(wrapped))
            }
        };
    }
    let Some(obj) = container(doc, &target.path, verb != Verb::Remove) else {
        return Ok(());
    };
    if let Some(f) = &target.filter {
        return apply_filtered(obj, verb, &target, f, value, text);
    }
    let key = key_of(obj, &target.path.attr);
    match (verb, &target.path.sub) {
        (Verb::Remove, None) => {
            match (obj.get_mut(&key), value) {
                // `remove` of members with a value: drop the listed elements (by `value`).
                (Some(Value::Array(items)), Some(Value::Array(listed))) => {
                    let ids: Vec<Value> = listed
                        .iter()
                        .filter_map(|v| v.as_object().and_then(|o| get_ci(o, "value")).cloned())
                        .collect();
                    items.retain(|v| {
                        !v.as_object()
                            .and_then(|o| get_ci(o, "value"))
                            .is_some_and(|x| ids.contains(x))
                    });
                    if items.is_empty() {
                        obj.remove(&key);
                    }
                }
                _ => {
                    obj.remove(&key);
                }
            }
        }
        (Verb::Remove, Some(sub)) => match obj.get_mut(&key) {
            Some(Value::Object(o)) => {
                let k = key_of(o, sub);
                o.remove(&k);
            }
            Some(Value::Array(items)) => {
                for v in items.iter_mut() {
                    if let Some(o) = v.as_object_mut() {
                        let k = key_of(o, sub);
                        o.remove(&k);
                    }
                }
            }
            _ => {}
        },
        (_, None) => {
            let value = value
                .ok_or_else(|| ScimError::bad("invalidValue", format!("'{text}' needs a value")))?;
            match (verb, obj.get_mut(&key), value) {
                (Verb::Replace, Some(Value::Object(existing)), Value::Object(new)) => {
                    for (k, v) in new {
                        let k = key_of(existing, &k);
                        existing.insert(k, v);
                    }
                }
                (Verb::Replace, _, v) => {
                    obj.insert(key, v);
                }
                // The agent's skills are one skill map (UCCX skillMap): `add` with a path
                // naming them sets the whole map, it does not append to it.
                (Verb::Add, _, v)
                    if target.path.extension && key.eq_ignore_ascii_case("skills") =>
                {
                    obj.insert(key, v);
                }
                (_, _, v) => add_value(obj, &key, v),
            }
        }
        (_, Some(sub)) => {
            let value = value
                .ok_or_else(|| ScimError::bad("invalidValue", format!("'{text}' needs a value")))?;
            let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(o) => {
                    let k = key_of(o, sub);
                    o.insert(k, value);
                }
                Value::Array(items) => {
                    for v in items.iter_mut() {
                        if let Some(o) = v.as_object_mut() {
                            let k = key_of(o, sub);
                            o.insert(k, value.clone());
                        }
                    }
                }
                other => {
                    let mut o = Map::new();
                    o.insert(sub.clone(), value);
                    *other = Value::Object(o);
                }
            }
        }
    }
    Ok(())
}

/// Applies a PatchOp body to a rendered resource, in order; the first failing operation
/// answers 400 and nothing is stored.
pub fn apply(
    doc: &mut Map<String, Value>,
    kind: Kind,
    body: &Map<String, Value>,
) -> Result<(), ScimError> {
    if let Some(schemas) = get_ci(body, "schemas") {
        let ok = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_OP)));
        if !ok {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("a PATCH body must have schemas [\"{PATCH_OP}\"]"),
            ));
        }
    }
    let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a PATCH body needs an \"Operations\" array",
        ));
    };
    for (n, op) in ops.iter().enumerate() {
        let Some(op) = op.as_object() else {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("Operations[{n}] is not an object"),
            ));
        };
        let verb = match get_ci(op, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Verb::Add,
            Some("replace") => Verb::Replace,
            Some("remove") => Verb::Remove,
            other => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("Operations[{n}].op is {other:?}: use add, replace or remove"),
                ))
            }
        };
        let path = get_ci(op, "path").and_then(Value::as_str);
        let value = get_ci(op, "value").cloned();
        apply_one(doc, kind, verb, path, value)?;
    }
    Ok(())
}
