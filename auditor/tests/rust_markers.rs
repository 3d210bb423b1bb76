//! Marker-vs-finding checks for the Rust front end, ruff-style: every line
//! of a fixture with a `// D2H00x` marker is reported with exactly those rules
//! (and severities, where the fixture gives them), and nothing else is.

mod common;

use common::{check_markers, rust_fixture, Compare};

#[test]
fn candle_fixture() {
    check_markers(&rust_fixture("candle.rs"), Compare::Rules);
}

#[test]
fn cudarc_fixture() {
    check_markers(&rust_fixture("cudarc.rs"), Compare::Rules);
}

#[test]
fn tch_fixture() {
    check_markers(&rust_fixture("tch.rs"), Compare::Rules);
}

#[test]
fn burn_fixture() {
    check_markers(&rust_fixture("burn.rs"), Compare::Rules);
}

/// A small crate and a Python tool audited as one tree: hotness across
/// modules (`crate::`, `super::`, `use`), contexts, and no guesses in files
/// without tensors.
#[test]
fn project_fixture() {
    let outcome = check_markers(&rust_fixture("project"), Compare::RulesAndSeverity);
    assert_eq!(outcome.report.summary.files_scanned, 6);
}
