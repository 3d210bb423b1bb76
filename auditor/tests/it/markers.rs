//! Marker-vs-finding checks, ruff-style: every line with a marker comment is
//! reported with exactly those rules (and severities, where the fixture gives
//! them), and nothing else is reported. On failure the diff lists missing and
//! unexpected (file, line, rule, severity) with each finding's code and reason.

use crate::common::{check_markers, example, fixture, marker_diff, parse_markers, Compare};
use d2h_rules::Severity;

#[test]
fn d2h001_explicit_copy() {
    check_markers(&fixture("D2H001.py"), Compare::Rules);
}

#[test]
fn d2h002_scalar_read() {
    check_markers(&fixture("D2H002.py"), Compare::Rules);
}

#[test]
fn d2h003_data_dependent_shape() {
    check_markers(&fixture("D2H003.py"), Compare::Rules);
}

#[test]
fn d2h004_explicit_sync() {
    check_markers(&fixture("D2H004.py"), Compare::Rules);
}

#[test]
fn d2h005_implicit_format() {
    check_markers(&fixture("D2H005.py"), Compare::Rules);
}

#[test]
fn d2h006_host_library() {
    check_markers(&fixture("D2H006.py"), Compare::Rules);
}

#[test]
fn d2h007_blocking_upload() {
    check_markers(&fixture("D2H007.py"), Compare::Rules);
}

#[test]
fn severity_fixture() {
    check_markers(&fixture("severity.py"), Compare::RulesAndSeverity);
}

#[test]
fn crossfile_fixture() {
    let outcome = check_markers(&fixture("crossfile"), Compare::RulesAndSeverity);
    assert_eq!(outcome.report.summary.files_scanned, 2);
}

#[test]
fn testfile_fixture() {
    check_markers(&fixture("testfile"), Compare::RulesAndSeverity);
}

#[test]
fn legacy_pipeline_example() {
    let outcome = check_markers(&example("legacy-pipeline"), Compare::RulesAndSeverity);
    let report = &outcome.report;
    assert!(report.summary.critical > 0, "legacy pipeline has no critical finding");
    assert_eq!(report.summary.files_scanned, 7);
    assert!(report.errors.is_empty());
    for finding in &report.findings {
        assert!(
            !finding.reason.trim().is_empty(),
            "{}:{}: empty reason for `{}`",
            finding.file,
            finding.line,
            finding.code
        );
        assert!(!finding.code.trim().is_empty());
        assert!(!finding.symbol.is_empty());
    }
}

#[test]
fn resident_pipeline_example() {
    let outcome = check_markers(&example("resident-pipeline"), Compare::RulesAndSeverity);
    let report = &outcome.report;
    assert_eq!(
        report.summary.critical, 0,
        "resident pipeline must have no critical finding"
    );
    assert!(report.findings.iter().all(|f| f.severity != Severity::Critical));
    assert!(report.findings.iter().all(|f| !f.reason.trim().is_empty()));
}

#[test]
fn marker_parser_understands_both_forms() {
    let text = "a = x.cpu()  # D2H001\n\
                b = 1  # a comment\n\
                c = t.item()  # D2H002 critical\n\
                d = f(x)  # expect: D2H001 medium, D2H001 medium\n\
                e = s['#']  # expect: D2H003 medium, D2H001 low\n\
                f = g(x)  # D2H001 D2H005\n";
    let markers = parse_markers(text);
    let short: Vec<(u32, &str, Option<&str>)> = markers
        .iter()
        .map(|m| (m.line, m.rule.as_str(), m.severity.as_deref()))
        .collect();
    assert_eq!(
        short,
        vec![
            (1, "D2H001", None),
            (3, "D2H002", Some("critical")),
            (4, "D2H001", Some("medium")),
            (4, "D2H001", Some("medium")),
            (5, "D2H003", Some("medium")),
            (5, "D2H001", Some("low")),
            (6, "D2H001", None),
            (6, "D2H005", None),
        ]
    );
}

#[test]
fn marker_check_reports_a_readable_diff() {
    let dir = tempfile::Builder::new().prefix("d2h-markers").tempdir().unwrap();
    let source = "import torch\n\
                  \n\
                  \n\
                  def forward(x: torch.Tensor):\n\
                  \x20   a = x.cpu()  # D2H001 medium\n\
                  \x20   b = x.tolist()\n\
                  \x20   return a, b  # D2H002 critical\n";
    std::fs::write(dir.path().join("model.py"), source).unwrap();
    let (_, diff) = marker_diff(dir.path(), Compare::RulesAndSeverity);
    let message = diff.expect("the check must fail");
    assert!(
        message.contains("missing (marked, not reported):\n  - model.py:7: D2H002 critical"),
        "{message}"
    );
    assert!(
        message.contains("unexpected (reported, not marked):\n  + model.py:6:"),
        "{message}"
    );
    assert!(message.contains("`x.tolist()`"), "{message}");
    assert!(message.contains("wrong severity:\n  ~ model.py:5:"), "{message}");
    assert!(message.contains("expected medium, got critical"), "{message}");
    assert!(message.contains("hot root"), "{message}");
}
