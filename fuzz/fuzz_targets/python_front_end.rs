//! Any bytes as a Python file: `d2h audit` must give findings or a per-file error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::run(data, "pkg/model.py", d2h_auditor::python::analyze);
});
