//! Identifier newtypes. Each one is validated once, at the edge, and then trusted.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which kind of identifier.
        kind: &'static str,
    },
    /// The identifier has a character outside `[A-Za-z0-9_.-]` or is too long.
    #[error("{kind} '{value}' may only contain letters, digits, '_', '.', '-' and be at most 64 characters")]
    Invalid {
        /// Which kind of identifier.
        kind: &'static str,
        /// The refused value.
        value: String,
    },
}

fn check_slug(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let ok = value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if !ok {
        return Err(IdError::Invalid {
            kind,
            value: value.to_string(),
        });
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_slug($kind, &value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A project (tenant) at the hub, e.g. `acme-support`.
    ProjectId,
    "project id"
);
slug_id!(
    /// A configured source instance, e.g. `uccx-main`: the first half of every synced object's key.
    SourceId,
    "source id"
);

/// The immutable identifier of an object inside its source (CUCM `pkid`, UCCX `teamId`, …): the
/// second half of every synced object's key. Any non-empty text up to 256 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// Validates and wraps an external id.
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty {
                kind: "external id",
            });
        }
        if value.len() > 256 || value.chars().any(char::is_control) {
            return Err(IdError::Invalid {
                kind: "external id",
                value,
            });
        }
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::new(value)
    }
}

impl From<ExternalId> for String {
    fn from(value: ExternalId) -> String {
        value.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_ids_refuse_empty_and_odd_characters() {
        assert!(ProjectId::new("acme-support_1.a").is_ok());
        assert_eq!(
            ProjectId::new(""),
            Err(IdError::Empty { kind: "project id" })
        );
        assert!(SourceId::new("uccx main").is_err());
        assert!(SourceId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn external_ids_accept_any_printable_text_and_refuse_control_characters() {
        assert!(ExternalId::new("6b7d0a1e-0f7a-4c1d-9d1a-2f1e0f7a4c1d").is_ok());
        assert!(ExternalId::new("o'brien@example.com").is_ok());
        assert!(ExternalId::new("a\nb").is_err());
        assert!(ExternalId::new("").is_err());
    }

    #[test]
    fn ids_deserialize_through_validation() {
        let bad: Result<ProjectId, _> = serde_json::from_str("\"has space\"");
        assert!(bad.is_err());
        let good: ProjectId = serde_json::from_str("\"demo\"").unwrap();
        assert_eq!(good.as_str(), "demo");
    }
}
