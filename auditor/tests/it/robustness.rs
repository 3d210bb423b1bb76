//! Robustness: bad files next to good ones, determinism across runs and thread
//! counts, fingerprints that survive edits, and pathological nesting.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::example;
use d2h_auditor::{audit, AuditError, AuditOptions};
use d2h_reports::{render, Format, RenderOptions, Report};
use d2h_rules::Severity;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("d2h-robust").tempdir().unwrap()
}

fn audit_with(path: &Path, threads: Option<usize>) -> Report {
    let options = AuditOptions {
        threads,
        ..AuditOptions::default()
    };
    audit(&[path.to_path_buf()], &options).unwrap().report
}

fn to_json(path: &Path, threads: Option<usize>) -> String {
    let outcome = audit(
        &[path.to_path_buf()],
        &AuditOptions {
            threads,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let mut out = Vec::new();
    render(
        &outcome.report,
        Format::Json,
        RenderOptions::default(),
        &outcome.sources,
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

const GOOD: &str = "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.cpu()\n";

#[test]
fn bad_files_are_errors_and_good_files_are_still_audited() {
    let dir = tempdir();
    let p = dir.path();
    std::fs::write(p.join("good.py"), GOOD).unwrap();
    std::fs::write(
        p.join("syntax.py"),
        "import torch\n\ndef broken(x:\n    return x.cpu()\n",
    )
    .unwrap();
    std::fs::write(p.join("latin1.py"), b"# caf\xe9\nimport torch\n").unwrap();
    std::fs::write(p.join("nul.py"), b"import torch\nx = 1\0\n").unwrap();
    std::fs::write(p.join("empty.py"), b"").unwrap();
    let bom_crlf = "\u{feff}import torch\r\n\r\n\r\ndef predict(x: torch.Tensor):\r\n    return x.tolist()\r\n";
    std::fs::write(p.join("bom_crlf.py"), bom_crlf).unwrap();

    let report = audit_with(p, None);

    let summary = &report.summary;
    assert_eq!(summary.files_scanned, 6, "{summary:?}");
    assert_eq!(summary.files_with_errors, 3, "{:#?}", report.errors);

    let errors: Vec<(&str, &str)> = report
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.message.as_str()))
        .collect();
    let error_files: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(error_files, vec!["latin1.py", "nul.py", "syntax.py"], "{errors:#?}");
    let message = |file: &str| errors.iter().find(|(f, _)| *f == file).unwrap().1;
    assert!(message("latin1.py").contains("UTF-8"), "{}", message("latin1.py"));
    assert!(message("nul.py").contains("binary"), "{}", message("nul.py"));
    let syntax = message("syntax.py");
    assert!(syntax.contains("syntax error at "), "{syntax}");
    let position = syntax
        .trim_start_matches("syntax error at ")
        .split(':')
        .take(2)
        .map(|n| n.parse::<u32>())
        .collect::<Result<Vec<u32>, _>>();
    assert!(
        matches!(position.as_deref(), Ok([line, col]) if *line >= 3 && *col >= 1),
        "no line:col in {syntax:?}"
    );

    let found: Vec<(&str, u32, u32, &str, Severity)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.line, f.column, f.code.as_str(), f.severity))
        .collect();
    assert_eq!(
        found,
        vec![
            ("bom_crlf.py", 5, 12, "x.tolist()", Severity::Critical),
            ("good.py", 5, 12, "x.cpu()", Severity::Critical),
        ]
    );
    assert_eq!(report.summary.total, 2);
}

#[test]
fn explicit_bad_paths_are_errors_not_panics() {
    let dir = tempdir();
    let p = dir.path();
    std::fs::write(p.join("notes.txt"), "x.cpu()\n").unwrap();
    std::fs::write(p.join("good.py"), GOOD).unwrap();
    let paths = vec![p.join("notes.txt"), p.join("missing.py"), p.join("good.py")];
    let report = audit(&paths, &AuditOptions::default()).unwrap().report;
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.errors.len(), 2, "{:#?}", report.errors);
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("not a Python file")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("no such file or directory")),
        "{messages:?}"
    );

    assert!(matches!(audit(&[], &AuditOptions::default()), Err(AuditError::NoPaths)));
}

#[test]
fn audits_are_deterministic_across_runs_and_thread_counts() {
    let legacy = example("legacy-pipeline");
    let first = to_json(&legacy, None);
    let second = to_json(&legacy, None);
    assert_eq!(first, second, "two audits of the same tree differ");
    let one = to_json(&legacy, Some(1));
    let two = to_json(&legacy, Some(2));
    assert_eq!(one, two, "1 and 2 threads give different reports");
    assert_eq!(first, one, "default and 1 thread give different reports");
    let parsed: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(parsed["summary"]["total"].as_u64().unwrap() > 0);
}

// --------------------------------------------------------------- fingerprints

const BEFORE: &str = r#"import torch


class Net:
    def __init__(self, model):
        self.model = model

    def forward(self, x: torch.Tensor):
        peak = x.amax().item()
        host = x.detach().cpu()
        return host, peak


def summarize(t: torch.Tensor):
    return t.tolist()
"#;

/// The same code: lines added above, the class body re-indented by two
/// spaces, whitespace inside a call, and the functions in another order.
const MOVED: &str = r#"import torch

# A comment block added above everything.
#
#



def summarize(t: torch.Tensor):
    return t.tolist( )


class Net:
  def __init__(self, model):
    self.model = model

  def forward(self, x: torch.Tensor):
    peak = x.amax().item()
    host = x.detach().cpu()
    return host, peak
"#;

/// `MOVED` plus one new site and one second copy of an existing site.
const GROWN: &str = r#"import torch

# A comment block added above everything.
#
#



def summarize(t: torch.Tensor):
    return t.tolist( )


class Net:
  def __init__(self, model):
    self.model = model

  def forward(self, x: torch.Tensor):
    peak = x.amax().item()
    host = x.detach().cpu()
    total = x.sum().item()
    again = x.detach().cpu()
    return host, peak, total, again
"#;

fn fingerprints_of(source: &str) -> (Vec<(u32, String)>, BTreeSet<String>) {
    let dir = tempdir();
    std::fs::write(dir.path().join("model.py"), source).unwrap();
    let report = audit_with(dir.path(), None);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let lines = report
        .findings
        .iter()
        .map(|f| (f.line, f.fingerprint.clone()))
        .collect();
    let set = report.findings.iter().map(|f| f.fingerprint.clone()).collect();
    (lines, set)
}

#[test]
fn fingerprints_survive_moves_and_reindentation() {
    let (before_lines, before) = fingerprints_of(BEFORE);
    let (moved_lines, moved) = fingerprints_of(MOVED);
    assert_eq!(before.len(), 3, "{before_lines:?}");
    assert_eq!(
        before, moved,
        "fingerprints changed: {before_lines:?} vs {moved_lines:?}"
    );
    let lines_before: Vec<u32> = before_lines.iter().map(|(l, _)| *l).collect();
    let lines_moved: Vec<u32> = moved_lines.iter().map(|(l, _)| *l).collect();
    assert_ne!(lines_before, lines_moved, "the edit should have moved the sites");

    let (grown_lines, grown) = fingerprints_of(GROWN);
    assert!(
        moved.is_subset(&grown),
        "old fingerprints lost: {moved_lines:?} vs {grown_lines:?}"
    );
    let new: Vec<&String> = grown.difference(&moved).collect();
    assert_eq!(new.len(), 2, "{grown_lines:?}");
    assert_eq!(grown_lines.len(), 5);
}

// ------------------------------------------------------------------- nesting

fn audit_single(name: &str, source: &str) -> Report {
    let dir = tempdir();
    std::fs::write(dir.path().join(name), source).unwrap();
    audit_with(dir.path(), None)
}

/// Either the file is audited or it is an error entry; never a crash.
fn assert_audited_or_error(report: &Report, name: &str) {
    assert_eq!(report.summary.files_scanned, 1);
    if let Some(error) = report.errors.first() {
        assert_eq!(error.file, name);
        assert!(!error.message.is_empty());
        assert_eq!(report.summary.files_with_errors, 1);
    }
}

#[test]
fn deeply_nested_parentheses_do_not_crash() {
    let depth = 3000;
    let source = format!(
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    y = {}x.cpu(){}\n    return y\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let report = audit_single("parens.py", &source);
    assert_audited_or_error(&report, "parens.py");
}

#[test]
fn deeply_nested_lists_do_not_crash() {
    let depth = 3000;
    let source = format!("import torch\n\nDATA = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
    let report = audit_single("lists.py", &source);
    assert_audited_or_error(&report, "lists.py");
}

#[test]
fn deeply_nested_calls_and_binary_operators_do_not_crash() {
    let depth = 3000;
    let calls = format!(
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    return {}x{}\n",
        "torch.relu(".repeat(depth),
        ")".repeat(depth)
    );
    let report = audit_single("calls.py", &calls);
    assert_audited_or_error(&report, "calls.py");

    let sums = format!(
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x{}\n",
        " + x".repeat(20_000)
    );
    let report = audit_single("sums.py", &sums);
    assert_audited_or_error(&report, "sums.py");
}
