//! The pipeline's CPU integration tests, in one test binary (one link instead of one per file).
//! `memory.rs` (its own counting global allocator, one test alone in its process) and `gpu.rs`
//! (feature `cuda`) stay separate binaries.

#[path = "../common/mod.rs"]
mod common;
mod frame_path;
mod fused;
mod graph;
mod matcher;
mod no_forbidden_api;
mod postprocess;
mod predictor;
mod presets;
mod robustness;
mod uploads;
mod weights_roundtrip;
