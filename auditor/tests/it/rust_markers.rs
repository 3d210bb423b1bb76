//! Marker-vs-finding checks for the Rust front end, ruff-style: every line
//! of a fixture with a `// D2H00x` marker is reported with exactly those rules
//! (and severities, where the fixture gives them), and nothing else is.

use std::path::PathBuf;

use crate::common::{check_markers, rust_fixture, Compare};
use d2h_auditor::{audit, AuditOptions};
use d2h_reports::{render, Format, RenderOptions, Report};

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
fn uploads_fixture() {
    check_markers(&rust_fixture("uploads.rs"), Compare::RulesAndSeverity);
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

/// One line per finding: place, rule, severity, symbol, code and reason.
fn listing(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "{}:{}:{}-{}:{} {} {} {} `{}` ({})\n",
            f.file,
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            f.rule.code(),
            f.severity,
            f.symbol,
            f.code,
            f.reason
        ));
    }
    out
}

fn audit_relative(rel: &str) -> d2h_auditor::AuditOutcome {
    // Integration tests run in the crate directory: a relative path keeps the report's root stable.
    let options = AuditOptions {
        keep_sources: true,
        ..AuditOptions::default()
    };
    audit(&[PathBuf::from(rel)], &options).unwrap()
}

/// Snapshots of what each fixture reports.
#[test]
fn snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../fixtures/rust/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for name in ["candle", "cudarc", "tch", "burn", "uploads", "project"] {
            let rel = if name == "project" {
                "tests/fixtures/rust/project".to_string()
            } else {
                format!("tests/fixtures/rust/{name}.rs")
            };
            let outcome = audit_relative(&rel);
            insta::assert_snapshot!(format!("rust_{name}"), listing(&outcome.report));
        }
    });
}

/// Rust findings go through every renderer like Python ones.
#[test]
fn every_format_renders_rust_findings() {
    let outcome = audit_relative("tests/fixtures/rust/cudarc.rs");
    for format in [Format::Text, Format::Concise, Format::Json, Format::Markdown] {
        let mut out = Vec::new();
        render(
            &outcome.report,
            format,
            RenderOptions { color: false },
            &outcome.sources,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("cudarc.rs"), "{format:?}: {text}");
        assert!(text.contains("D2H004"), "{format:?}: {text}");
        assert!(text.contains("memcpy_dtoh"), "{format:?}: {text}");
    }
}
