//! Domain types shared by every crate: ids as newtypes and the user-directory model.
//!
//! This crate owns plain data and its invariants. It must not do I/O, depend on tokio, or know
//! about any upstream API or storage backend.

pub mod directory;
pub mod ids;

pub use directory::{
    Attributes, DirectoryGroup, DirectorySnapshot, DirectoryUser, SnapshotProblem, SourceRole,
};
pub use ids::{ExternalId, IdError, ProjectId, SourceId};
