//! Any bytes as a Rust file: `d2h audit` must give findings or a per-file error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(data, "src/model.rs", d2h_auditor::rust::analyze);
});
