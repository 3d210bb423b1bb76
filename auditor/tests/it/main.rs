//! The auditor's integration tests, in one test binary (one link instead of one per file).

mod common;
mod generated;
mod markers;
mod robustness;
mod rust_markers;
mod rust_severity;
mod severity;
mod via;
