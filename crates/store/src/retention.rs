//! Per-project retention policies and the purge of data older than them (STUB: being written).
