//! The `d2h` binary's integration tests, in one test binary (one link instead of one per file).

mod bad_input;
mod baseline;
mod cli;
mod compare;
mod config;
mod docs;
mod html;
#[cfg(feature = "pipeline")]
mod pipeline_cli;
#[cfg(feature = "pipeline")]
mod self_audit;
mod suppress;
