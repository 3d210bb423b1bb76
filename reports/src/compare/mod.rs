//! `d2h compare`: the static view (sites where a transfer can happen) joined
//! with the runtime view (transfers that did happen).
//!
//! Sites are joined on rule + path + line, paths taken relative to each
//! report's root and normalised so a static report made from the repository
//! root and a runtime report written by the binary meet. Two static reports
//! (or a static report and a baseline) can also be joined on fingerprints,
//! which survive moved lines.

mod markdown;
mod text;

use std::collections::BTreeMap;
use std::io;

use d2h_rules::{RuleId, Severity};
use serde::{Deserialize, Serialize};

use crate::{Finding, Origin, Report};

/// The schema identifier of a comparison's JSON.
pub const COMPARE_SCHEMA: &str = "d2h-compare/1";

/// A site seen by both views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmed {
    pub rule: RuleId,
    /// Normalised path (relative to the common root).
    pub file: String,
    pub line: u32,
    pub static_severity: Severity,
    pub runtime_severity: Severity,
    pub count: u64,
    pub per_frame: f64,
    pub bytes: u64,
    pub static_reason: String,
    pub runtime_reason: String,
}

impl Confirmed {
    pub fn agrees(&self) -> bool {
        self.static_severity == self.runtime_severity
    }
}

/// A site seen by one view only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneSided {
    pub rule: RuleId,
    pub file: String,
    pub line: u32,
    pub severity: Severity,
    pub code: String,
    pub reason: String,
}

/// The two views side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema: String,
    pub static_root: String,
    pub runtime_root: String,
    /// Found statically and observed at run time.
    pub confirmed: Vec<Confirmed>,
    /// Found statically, never executed in this run.
    pub static_only: Vec<OneSided>,
    /// Observed at run time, missed by the static audit: a defect of the
    /// auditor, or a helper it does not know.
    pub runtime_only: Vec<OneSided>,
}

impl Comparison {
    /// Confirmed sites whose two severities differ.
    pub fn disagreements(&self) -> impl Iterator<Item = &Confirmed> {
        self.confirmed.iter().filter(|c| !c.agrees())
    }
}

/// Why two reports cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareError {
    /// The first report is not static, or the second not runtime.
    WrongOrigin {
        expected: Origin,
        found: Origin,
        which: &'static str,
    },
}

impl std::fmt::Display for CompareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompareError::WrongOrigin { expected, found, which } => {
                write!(f, "the {which} report has origin `{found:?}`, expected `{expected:?}`")
            }
        }
    }
}

impl std::error::Error for CompareError {}

/// `root` joined with `file`, `/`-separated, without `./` and `..` where they cancel.
pub fn normalise_path(root: &str, file: &str) -> String {
    let joined = if root.is_empty() || root == "." {
        file.to_string()
    } else {
        format!("{root}/{file}")
    };
    let joined = joined.replace('\\', "/");
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let relative = parts.join("/");
    if joined.starts_with('/') {
        format!("/{relative}")
    } else {
        relative
    }
}

/// Whether two normalised paths name the same file: equal, or one is the
/// other with leading directories (`pipeline/src/a.rs` and `src/a.rs`).
fn same_file(a: &str, b: &str) -> bool {
    let suffix = |long: &str, short: &str| {
        long.len() > short.len() && long.ends_with(short) && long.as_bytes()[long.len() - short.len() - 1] == b'/'
    };
    a == b || suffix(a, b) || suffix(b, a)
}

/// Joins a static and a runtime report.
pub fn compare(static_report: &Report, runtime_report: &Report) -> Result<Comparison, CompareError> {
    if static_report.origin != Origin::Static {
        return Err(CompareError::WrongOrigin {
            expected: Origin::Static,
            found: static_report.origin,
            which: "first",
        });
    }
    if runtime_report.origin != Origin::Runtime {
        return Err(CompareError::WrongOrigin {
            expected: Origin::Runtime,
            found: runtime_report.origin,
            which: "second",
        });
    }
    let static_sites: Vec<(String, &Finding)> = static_report
        .findings
        .iter()
        .map(|f| (normalise_path(&static_report.root, &f.file), f))
        .collect();
    let mut unmatched_static: BTreeMap<usize, ()> = (0..static_sites.len()).map(|i| (i, ())).collect();

    let mut confirmed = Vec::new();
    let mut runtime_only = Vec::new();
    for runtime in &runtime_report.findings {
        let path = normalise_path(&runtime_report.root, &runtime.file);
        let matched = unmatched_static.keys().copied().find(|&i| {
            let (static_path, s) = &static_sites[i];
            s.rule == runtime.rule && s.line == runtime.line && same_file(static_path, &path)
        });
        let stats = runtime.runtime.clone().unwrap_or_default();
        match matched {
            Some(i) => {
                unmatched_static.remove(&i);
                let (static_path, s) = &static_sites[i];
                let file = if static_path.len() >= path.len() {
                    static_path.clone()
                } else {
                    path.clone()
                };
                confirmed.push(Confirmed {
                    rule: runtime.rule,
                    file,
                    line: runtime.line,
                    static_severity: s.severity,
                    runtime_severity: runtime.severity,
                    count: stats.count,
                    per_frame: stats.per_frame,
                    bytes: stats.bytes,
                    static_reason: s.reason.clone(),
                    runtime_reason: runtime.reason.clone(),
                });
            }
            None => runtime_only.push(one_sided(&path, runtime)),
        }
    }
    let static_only = unmatched_static
        .keys()
        .map(|&i| one_sided(&static_sites[i].0, static_sites[i].1))
        .collect();
    let order = |a: &(String, u32, RuleId), b: &(String, u32, RuleId)| a.cmp(b);
    confirmed.sort_by(|a, b| order(&(a.file.clone(), a.line, a.rule), &(b.file.clone(), b.line, b.rule)));
    runtime_only.sort_by(|a, b| order(&(a.file.clone(), a.line, a.rule), &(b.file.clone(), b.line, b.rule)));
    Ok(Comparison {
        schema: COMPARE_SCHEMA.to_string(),
        static_root: static_report.root.clone(),
        runtime_root: runtime_report.root.clone(),
        confirmed,
        static_only,
        runtime_only,
    })
}

fn one_sided(path: &str, finding: &Finding) -> OneSided {
    OneSided {
        rule: finding.rule,
        file: path.to_string(),
        line: finding.line,
        severity: finding.severity,
        code: finding.code.clone(),
        reason: finding.reason.clone(),
    }
}

/// Output formats of `d2h compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    Text,
    Json,
    Markdown,
}

/// Writes a comparison in `format`.
pub fn render(comparison: &Comparison, format: CompareFormat, out: &mut dyn io::Write) -> io::Result<()> {
    match format {
        CompareFormat::Text => text::render(comparison, out),
        CompareFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, comparison).map_err(io::Error::other)?;
            writeln!(out)
        }
        CompareFormat::Markdown => markdown::render(comparison, out),
    }
}

#[cfg(test)]
mod tests;
