//! Shared helpers for the auditor's integration tests: running an audit, and
//! the ruff-style marker check (every marked line is reported, every reported
//! line is marked).
//!
//! Two marker forms are understood, both trailing comments:
//!
//! - `# D2H001` / `# D2H001 critical` / `# D2H001 medium, D2H003 low` (rule fixtures);
//! - `# expect: D2H001 critical, D2H002 low` (the example pipelines).
//!
//! A line may name several findings, and the same rule more than once.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use d2h_auditor::{audit, AuditOptions, AuditOutcome};
use d2h_reports::{Finding, Report};

/// The auditor crate's directory.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `auditor/tests/fixtures/python/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/python").join(rel)
}

/// `examples/<rel>` at the workspace root.
pub fn example(rel: &str) -> PathBuf {
    manifest_dir().join("../examples").join(rel)
}

/// Audits one path with the default options.
pub fn audit_path(path: &Path) -> AuditOutcome {
    audit(&[path.to_path_buf()], &AuditOptions::default())
        .unwrap_or_else(|e| panic!("audit of {} failed: {e}", path.display()))
}

/// One expected finding, parsed from a marker comment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marker {
    pub line: u32,
    pub rule: String,
    pub severity: Option<String>,
}

fn is_rule_code(token: &str) -> bool {
    token.len() == 6 && token.starts_with("D2H") && token[3..].bytes().all(|b| b.is_ascii_digit())
}

fn is_severity(token: &str) -> bool {
    matches!(token, "critical" | "medium" | "low")
}

/// A rule code and, where given, a severity.
type RuleAndSeverity = (String, Option<String>);

/// Parses the markers of a trailing comment's text (after the `#`), if it is one.
/// `Err` for text that looks like a marker but does not parse (a typo in a fixture).
fn parse_comment(comment: &str) -> Result<Option<Vec<RuleAndSeverity>>, String> {
    let body = comment.trim();
    let body = body.strip_prefix("expect:").map(str::trim).unwrap_or(body);
    if !body.starts_with("D2H") {
        return Ok(None);
    }
    let mut out: Vec<RuleAndSeverity> = Vec::new();
    for entry in body.split(',') {
        let mut had_rule = false;
        for token in entry.split_whitespace() {
            if is_rule_code(token) {
                out.push((token.to_string(), None));
                had_rule = true;
            } else if is_severity(token) && had_rule && out.last().is_some_and(|m| m.1.is_none()) {
                out.last_mut().unwrap().1 = Some(token.to_string());
            } else {
                return Err(format!("unparseable marker token `{token}` in `#{comment}`"));
            }
        }
        if !had_rule {
            return Err(format!("empty marker entry in `#{comment}`"));
        }
    }
    Ok(Some(out))
}

/// The markers of a source text, in line order (`#` comments).
pub fn parse_markers(text: &str) -> Vec<Marker> {
    parse_markers_after(text, "#")
}

/// The markers of a Rust source text: the same forms in `//` comments
/// (`// D2H001`, `// D2H001 critical`, `// expect: D2H004 low`).
pub fn parse_rust_markers(text: &str) -> Vec<Marker> {
    parse_markers_after(text, "//")
}

/// The markers in comments opened by `comment`: the last such comment on a line that
/// parses as a marker (tried from the right).
fn parse_markers_after(text: &str, comment: &str) -> Vec<Marker> {
    let mut markers = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap();
        for (pos, _) in line.rmatch_indices(comment) {
            match parse_comment(&line[pos + comment.len()..]) {
                Ok(Some(found)) => {
                    markers.extend(found.into_iter().map(|(rule, severity)| Marker {
                        line: line_no,
                        rule,
                        severity,
                    }));
                    break;
                }
                Ok(None) => continue,
                Err(message) => panic!("line {line_no}: {message}"),
            }
        }
    }
    markers
}

/// The markers of a file, by its language (`//` comments in `.rs` files, `#` in the others).
pub fn parse_markers_of(file: &str, text: &str) -> Vec<Marker> {
    if file.ends_with(".rs") {
        parse_rust_markers(text)
    } else {
        parse_markers(text)
    }
}

/// The `.py` and `.rs` files under `path` (or `path` itself), keyed by their report path.
pub fn source_files(path: &Path) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = python_files(path)
        .into_iter()
        .filter(|(display, _)| !display.ends_with(".rs"))
        .collect();
    files.extend(rust_files(path));
    files.sort();
    files
}

/// The `.rs` files under `path` (or `path` itself), keyed by their report path.
pub fn rust_files(path: &Path) -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                walk(&entry, root, out);
            } else if entry.extension().is_some_and(|e| e == "rs") {
                let rel = entry.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, entry));
            }
        }
    }
    let mut out = Vec::new();
    if path.is_dir() {
        walk(path, path, &mut out);
    } else if path.extension().is_some_and(|e| e == "rs") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, path.to_path_buf()));
    }
    out
}

/// `auditor/tests/fixtures/rust/<rel>`.
pub fn rust_fixture(rel: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/rust").join(rel)
}

/// The `.py` files under `path` (or `path` itself), keyed by their report path
/// (relative to the directory audited, or the file name for a single file).
pub fn python_files(path: &Path) -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                walk(&entry, root, out);
            } else if entry.extension().is_some_and(|e| e == "py") {
                let rel = entry.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, entry));
            }
        }
    }
    let mut out = Vec::new();
    if path.is_dir() {
        walk(path, path, &mut out);
    } else {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, path.to_path_buf()));
    }
    out
}

/// What is compared: the rule only, or the rule and the severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Rules,
    RulesAndSeverity,
}

type Key = (String, u32, String);

/// Audits `path` and checks the findings against the markers of its files, both
/// directions. Panics with a readable diff on any difference. Returns the outcome.
pub fn check_markers(path: &Path, compare: Compare) -> AuditOutcome {
    let (outcome, diff) = marker_diff(path, compare);
    if let Some(diff) = diff {
        panic!("{diff}");
    }
    outcome
}

/// Audits `path` and compares the findings with the markers of its files: the
/// outcome, and a readable diff when they differ.
pub fn marker_diff(path: &Path, compare: Compare) -> (AuditOutcome, Option<String>) {
    let outcome = audit_path(path);
    let report = &outcome.report;
    assert!(
        report.errors.is_empty(),
        "{}: unexpected file errors: {:#?}",
        path.display(),
        report.errors
    );

    // (file, line, rule) → severities expected / found (a multiset per key).
    let mut expected: BTreeMap<Key, Vec<Option<String>>> = BTreeMap::new();
    let mut marker_count = 0;
    for (display, file) in source_files(path) {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in parse_markers_of(&display, &text) {
            let severity =
                match compare {
                    Compare::Rules => None,
                    Compare::RulesAndSeverity => Some(marker.severity.clone().unwrap_or_else(|| {
                        panic!("{display}:{}: marker `{}` has no severity", marker.line, marker.rule)
                    })),
                };
            marker_count += 1;
            expected
                .entry((display.clone(), marker.line, marker.rule))
                .or_default()
                .push(severity);
        }
    }
    assert!(marker_count > 0, "{}: no markers found", path.display());

    let mut actual: BTreeMap<Key, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        actual
            .entry((finding.file.clone(), finding.line, finding.rule.code().to_string()))
            .or_default()
            .push(finding);
    }

    let severity_of = |f: &Finding| match compare {
        Compare::Rules => None,
        Compare::RulesAndSeverity => Some(f.severity.as_str().to_string()),
    };

    let mut missing: Vec<(Key, Option<String>)> = Vec::new();
    let mut unexpected: Vec<&Finding> = Vec::new();
    let mut wrong_severity: Vec<(Option<String>, &Finding)> = Vec::new();
    let keys: std::collections::BTreeSet<Key> = expected.keys().chain(actual.keys()).cloned().collect();
    for key in keys {
        let mut want: Vec<Option<String>> = expected.get(&key).cloned().unwrap_or_default();
        let mut got: Vec<&Finding> = actual.get(&key).cloned().unwrap_or_default();
        // Exact matches first.
        got.retain(|f| {
            let sev = severity_of(f);
            if let Some(i) = want.iter().position(|w| *w == sev) {
                want.remove(i);
                false
            } else {
                true
            }
        });
        // Same place and rule, other severity.
        while !want.is_empty() && !got.is_empty() {
            wrong_severity.push((want.remove(0), got.remove(0)));
        }
        missing.extend(want.into_iter().map(|w| (key.clone(), w)));
        unexpected.extend(got);
    }

    if missing.is_empty() && unexpected.is_empty() && wrong_severity.is_empty() {
        return (outcome, None);
    }
    let sev = |s: &Option<String>| s.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
    let mut message = format!(
        "findings of {} do not match its markers ({} markers, {} findings)\n",
        path.display(),
        marker_count,
        report.findings.len()
    );
    if !missing.is_empty() {
        let _ = writeln!(message, "\nmissing (marked, not reported):");
        for ((file, line, rule), severity) in &missing {
            let _ = writeln!(message, "  - {file}:{line}: {rule}{}", sev(severity));
        }
    }
    if !unexpected.is_empty() {
        let _ = writeln!(message, "\nunexpected (reported, not marked):");
        for f in &unexpected {
            let _ = writeln!(
                message,
                "  + {}:{}:{}: {} {}  `{}`  ({})",
                f.file,
                f.line,
                f.column,
                f.rule.code(),
                f.severity,
                f.code,
                f.reason
            );
        }
    }
    if !wrong_severity.is_empty() {
        let _ = writeln!(message, "\nwrong severity:");
        for (want, f) in &wrong_severity {
            let _ = writeln!(
                message,
                "  ~ {}:{}:{}: {} expected{}, got {}  `{}`  ({})",
                f.file,
                f.line,
                f.column,
                f.rule.code(),
                sev(want),
                f.severity,
                f.code,
                f.reason
            );
        }
    }
    (outcome, Some(message))
}

/// The findings of a report whose code contains `needle`.
pub fn findings_with_code<'r>(report: &'r Report, needle: &str) -> Vec<&'r Finding> {
    report.findings.iter().filter(|f| f.code.contains(needle)).collect()
}

/// Writes `files` (relative name, source) under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (name, source) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, source).unwrap();
    }
}

/// Audits a directory with the default options.
pub fn audit_dir(dir: &Path) -> Report {
    audit(&[dir.to_path_buf()], &AuditOptions::default()).unwrap().report
}

/// Writes `files` into a fresh temporary directory and audits it; no file may fail.
pub fn audit_sources(files: &[(&str, &str)]) -> Report {
    let dir = tempfile::Builder::new().prefix("d2h-test").tempdir().unwrap();
    write_tree(dir.path(), files);
    let report = audit_dir(dir.path());
    assert!(report.errors.is_empty(), "file errors: {:#?}", report.errors);
    report
}

/// One line per finding, for assertion messages.
pub fn dump(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "  {}:{}: {} {} `{}` ({})\n",
                f.file,
                f.line,
                f.rule.code(),
                f.severity,
                f.code,
                f.reason
            )
        })
        .collect()
}

/// The one finding whose code is exactly `code`.
pub fn only<'r>(report: &'r Report, code: &str) -> &'r Finding {
    let found: Vec<&Finding> = report.findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one finding with code `{code}`, findings:\n{}",
        dump(report)
    );
    found[0]
}

/// Asserts the one finding with `code` has `severity` and a reason containing `reason`.
#[track_caller]
pub fn expect(report: &Report, code: &str, severity: d2h_rules::Severity, reason: &str) -> Finding {
    let finding = only(report, code).clone();
    assert_eq!(
        finding.severity,
        severity,
        "`{code}`: wrong severity (reason: {}), findings:\n{}",
        finding.reason,
        dump(report)
    );
    assert!(
        finding.reason.contains(reason),
        "`{code}`: reason {:?} does not contain {:?}",
        finding.reason,
        reason
    );
    finding
}
