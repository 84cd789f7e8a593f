//! Source records → directory snapshots, one module per source (DESIGN §3). Pure: no I/O.

pub mod cloud;
pub mod ucce;
pub mod uccx;

pub use uccx::{map_uccx, Mapped, MappingError, MappingOptions};
