//! Baselines: adopt d2h on a legacy codebase without fixing everything first.
//!
//! `d2h audit --write-baseline FILE` records the findings of today's audit;
//! `--baseline FILE` then hides (and does not gate) the findings it lists, and
//! names the entries whose finding is gone — fixed, or moved so far that its
//! fingerprint changed. Findings are matched by fingerprint only (rule, file,
//! enclosing symbol, the site's code without whitespace, and the occurrence
//! index of that tuple; never the line), so edits that shift lines, re-indent
//! a class or move a function keep them hidden; a new site shows.
//!
//! The file is JSON, sorted by file, rule, symbol, code and fingerprint, one
//! entry per finding: diffs of it stay readable, and it is byte-identical
//! for the same findings.

use std::collections::BTreeSet;

use d2h_reports::{BaselineEntry, BaselineInfo, Finding, Report};
use serde::{Deserialize, Serialize};

/// The schema identifier written in every baseline file.
pub const BASELINE_SCHEMA: &str = "d2h-baseline/1";

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: String,
    pub findings: Vec<BaselineEntry>,
}

/// A baseline file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineError {
    #[error("not a d2h baseline: {0}")]
    Invalid(String),
    #[error("unsupported baseline schema `{0}` (this d2h reads `{BASELINE_SCHEMA}`)")]
    Schema(String),
}

fn entry(finding: &Finding) -> BaselineEntry {
    BaselineEntry {
        fingerprint: finding.fingerprint.clone(),
        rule: finding.rule,
        file: finding.file.clone(),
        symbol: finding.symbol.clone(),
        code: finding.code.clone(),
    }
}

impl Baseline {
    /// The baseline of a report's findings.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<BaselineEntry> = findings.iter().map(entry).collect();
        entries.sort_by(|a, b| {
            (&a.file, a.rule, &a.symbol, &a.code, &a.fingerprint).cmp(&(
                &b.file,
                b.rule,
                &b.symbol,
                &b.code,
                &b.fingerprint,
            ))
        });
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.file == b.file);
        Baseline {
            schema: BASELINE_SCHEMA.to_string(),
            findings: entries,
        }
    }

    /// The file's text: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a baseline always serialises") + "\n"
    }

    pub fn parse(text: &str) -> Result<Baseline, BaselineError> {
        #[derive(Deserialize)]
        struct Head {
            schema: String,
        }
        let head: Head = serde_json::from_str(text).map_err(|e| BaselineError::Invalid(e.to_string()))?;
        if head.schema != BASELINE_SCHEMA {
            return Err(BaselineError::Schema(head.schema));
        }
        serde_json::from_str(text).map_err(|e| BaselineError::Invalid(e.to_string()))
    }

    /// Hides the report's findings that the baseline lists and rebuilds its
    /// summary. Entries whose file is in `audited` (report paths of the files
    /// audited and reported) but whose finding is gone are listed as fixed;
    /// entries of files outside this audit are left alone.
    pub fn apply(&self, report: Report, file_name: &str, audited: &BTreeSet<String>) -> Report {
        let known: BTreeSet<(&str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.file.as_str(), e.fingerprint.as_str()))
            .collect();
        let present: BTreeSet<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.file.clone(), f.fingerprint.clone()))
            .collect();
        let fixed: Vec<BaselineEntry> = self
            .findings
            .iter()
            .filter(|e| audited.contains(&e.file) && !present.contains(&(e.file.clone(), e.fingerprint.clone())))
            .cloned()
            .collect();
        let Report {
            origin,
            root,
            summary,
            findings,
            errors,
            memory,
            latency,
            suppressed,
            ..
        } = report;
        let (hidden, shown): (Vec<Finding>, Vec<Finding>) = findings
            .into_iter()
            .partition(|f| known.contains(&(f.file.as_str(), f.fingerprint.as_str())));
        let mut rebuilt = Report::new(origin, root, shown, errors, summary.files_scanned).with_suppressed(suppressed);
        rebuilt.memory = memory;
        rebuilt.latency = latency;
        rebuilt.baseline = Some(BaselineInfo {
            file: file_name.to_string(),
            suppressed: hidden.len(),
            fixed,
        });
        rebuilt
    }
}

#[cfg(test)]
mod tests {
    use d2h_reports::Origin;
    use d2h_rules::{RuleId, Severity};

    use super::*;

    fn finding(file: &str, code: &str, fp: &str) -> Finding {
        Finding {
            rule: RuleId::ExplicitCopy,
            name: "explicit-copy".to_string(),
            severity: Severity::Critical,
            confidence: d2h_rules::Confidence::Certain,
            file: file.to_string(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 2,
            symbol: "f".to_string(),
            code: code.to_string(),
            reason: "r".to_string(),
            fingerprint: fp.to_string(),
            via: None,
            runtime: None,
        }
    }

    #[test]
    fn baselines_are_sorted_and_round_trip() {
        let b = Baseline::from_findings(&[finding("b.py", "y.cpu()", "2"), finding("a.py", "x.cpu()", "1")]);
        assert_eq!(b.findings[0].file, "a.py");
        let text = b.to_json();
        assert!(text.ends_with("}\n"));
        assert_eq!(Baseline::parse(&text).unwrap(), b);
        assert!(matches!(
            Baseline::parse("{\"schema\": \"other/1\", \"findings\": []}"),
            Err(BaselineError::Schema(_))
        ));
        assert!(matches!(Baseline::parse("[]"), Err(BaselineError::Invalid(_))));
    }

    #[test]
    fn apply_hides_known_findings_and_lists_fixed_ones_in_audited_files() {
        let b = Baseline::from_findings(&[
            finding("a.py", "x.cpu()", "1"),
            finding("a.py", "gone.cpu()", "2"),
            finding("other.py", "z.cpu()", "3"),
        ]);
        let report = Report::new(
            Origin::Static,
            ".",
            vec![finding("a.py", "x.cpu()", "1"), finding("a.py", "new.cpu()", "4")],
            Vec::new(),
            1,
        );
        let audited: BTreeSet<String> = ["a.py".to_string()].into();
        let out = b.apply(report, "d2h-baseline.json", &audited);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].code, "new.cpu()");
        assert_eq!(out.summary.total, 1);
        let info = out.baseline.unwrap();
        assert_eq!(info.suppressed, 1);
        assert_eq!(info.fixed.len(), 1);
        assert_eq!(info.fixed[0].code, "gone.cpu()");
    }
}
