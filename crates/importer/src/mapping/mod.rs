//! Source records → directory snapshots, one module per source (DESIGN §3). Pure: no I/O.

pub mod cloud;
pub mod ucce;
pub mod uccx;

pub use uccx::{map_uccx, Mapped, MappingError, MappingOptions};

use wfm_model::directory::ATTR_EXTERNAL_GROUP_ID;
use wfm_model::{Attributes, DirectoryGroup, ExternalId};

/// Validates a source id as an external id; `what` names it in the error.
pub(crate) fn ext(value: &str, what: &str) -> Result<ExternalId, MappingError> {
    ExternalId::new(value).map_err(|e| MappingError::InvalidId(format!("{what}: {e}")))
}

/// A team as a directory group keyed on its id, with the `externalGroupId` attribute.
pub(crate) fn group(id: &str, name: &str, what: &str) -> Result<DirectoryGroup, MappingError> {
    let mut attributes = Attributes::new();
    attributes.insert(ATTR_EXTERNAL_GROUP_ID.to_string(), vec![id.to_string()]);
    Ok(DirectoryGroup {
        external_id: ext(id, what)?,
        name: name.to_string(),
        attributes,
    })
}

/// Sets a single-valued attribute; absent, empty or blank values leave it unset.
pub(crate) fn set(attributes: &mut Attributes, key: &str, value: Option<impl AsRef<str>>) {
    if let Some(v) = value
        .as_ref()
        .map(|v| v.as_ref().trim())
        .filter(|v| !v.is_empty())
    {
        attributes.insert(key.to_string(), vec![v.to_string()]);
    }
}
