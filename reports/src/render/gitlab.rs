//! The GitLab renderer: a Code Quality report (GitLab's subset of the Code
//! Climate issue format), a JSON array for `artifacts:reports:codequality`.
//!
//! Each finding is one issue:
//!
//! | field | value |
//! |---|---|
//! | `type` | `issue` |
//! | `check_name` | the rule code (`D2H001`) |
//! | `description` | summary, code and reason of the finding, and its `via` call when it has one |
//! | `categories` | `["Performance"]` |
//! | `severity` | `critical`, `major` or `minor` for a critical, medium or low finding |
//! | `fingerprint` | the finding's fingerprint (stable when code moves, unique in a report) |
//! | `location.path` | the file, relative to the repository (see below) |
//! | `location.lines` | `begin` and `end` lines of the site |
//! | `engine_name` | `d2h` |
//!
//! A file that could not be audited is an issue too, with `check_name`
//! `file-not-audited`, severity `major`, category `Bug Risk` and line 1.
//!
//! Paths: GitLab wants them relative to the repository, without `./`. A
//! relative report root is joined in front of each file (`d2h audit src`
//! reports `src/predictor.py`); `.` leaves files as they are; an absolute root
//! is taken for the repository itself (`d2h audit "$CI_PROJECT_DIR"`), so files
//! stay relative to it. Run d2h from the repository root.

use std::io;

use d2h_rules::Severity;
use serde::Serialize;

use super::{finding_message, Root};
use crate::Report;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    categories: [&'static str; 1],
    severity: &'static str,
    fingerprint: String,
    location: Location,
    engine_name: &'static str,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
    end: u32,
}

pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let root = Root::of(&report.root);
    let mut issues: Vec<Issue> = Vec::with_capacity(report.findings.len() + report.errors.len());
    for f in &report.findings {
        let begin = f.line.max(1);
        issues.push(Issue {
            kind: "issue",
            check_name: f.rule.code(),
            description: finding_message(f, &root),
            categories: ["Performance"],
            severity: match f.severity {
                Severity::Critical => "critical",
                Severity::Medium => "major",
                Severity::Low => "minor",
            },
            fingerprint: f.fingerprint.clone(),
            location: Location {
                path: root.relative(&f.file),
                lines: Lines {
                    begin,
                    end: f.end_line.max(begin),
                },
            },
            engine_name: "d2h",
        });
    }
    for e in &report.errors {
        issues.push(Issue {
            kind: "issue",
            check_name: "file-not-audited",
            description: format!("d2h could not audit this file: {}", e.message),
            categories: ["Bug Risk"],
            severity: "major",
            fingerprint: error_fingerprint(&e.file, &e.message),
            location: Location {
                path: root.relative(&e.file),
                lines: Lines { begin: 1, end: 1 },
            },
            engine_name: "d2h",
        });
    }
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}

/// 16 hex digits of FNV-1a over the file and the message, in the style of the
/// findings' fingerprints (which need a rule, and a file error has none).
fn error_fingerprint(file: &str, message: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in ["file-not-audited", file, message] {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}
