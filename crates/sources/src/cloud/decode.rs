//! Tolerant serde helpers shared by the cloud decoders.

use serde::{Deserialize, Deserializer};

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string, a number or a boolean as text (`null` → `None`); ids and codes come both ways.
pub fn opt_text<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// A boolean that defaults to `true` when missing or `null`.
pub fn bool_default_true<'de, D>(d: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// `true`, for `#[serde(default = …)]`.
pub fn yes() -> bool {
    true
}
