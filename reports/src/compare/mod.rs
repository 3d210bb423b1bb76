//! `d2h compare`: the static view (sites where a transfer can happen) joined
//! with the runtime view (transfers that did happen).
//!
//! Sites are joined on rule + path + line, paths taken relative to each
//! report's root and normalised so a static report made from the repository
//! root and a runtime report written by the binary meet. A static site that
//! spans several lines (`self\n.gate\n.to_scalar(..)`) matches a runtime
//! site on any of them. Two static reports (or a static report and a
//! baseline) can also be joined on fingerprints, which survive moved lines.
//!
//! Static sites suppressed in the source (a static report's `suppressed`
//! list) are joined like the others, and keep their suppression: a
//! deliberate transfer is still confirmed, with its real severity, rather
//! than reported as missed.
//!
//! A runtime report may list one site several times (once per phase, or
//! with and without the logging guard). They are one site here: counts,
//! bytes and per-frame rates add up, and its runtime severity is the worst
//! of them, as a static site's severity is that of its worst context (a
//! helper that runs both at setup and on the frame path is critical).

mod html;
mod markdown;
mod text;

use std::collections::BTreeMap;
use std::io;

use d2h_rules::{RuleId, Severity};
use serde::{Deserialize, Serialize};

use crate::{Finding, Origin, Report, Suppression};

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
    /// The static site's suppression in the source, when it has one (a deliberate transfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
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
    /// The static site's suppression in the source, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
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

    /// Confirmed sites whose static site is suppressed in the source.
    pub fn suppressed(&self) -> impl Iterator<Item = &Confirmed> {
        self.confirmed.iter().filter(|c| c.suppression.is_some())
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

/// One runtime site: the findings of a runtime report at one rule and place, merged.
struct RuntimeSite<'r> {
    path: String,
    /// The finding with the worst severity (its severity and reason speak for the site).
    worst: &'r Finding,
    count: u64,
    bytes: u64,
    per_frame: f64,
}

/// The runtime report's findings merged per rule, path, line and column.
fn runtime_sites(report: &Report) -> Vec<RuntimeSite<'_>> {
    let mut sites: BTreeMap<(String, u32, u32, RuleId), RuntimeSite<'_>> = BTreeMap::new();
    for finding in &report.findings {
        let path = normalise_path(&report.root, &finding.file);
        let stats = finding.runtime.clone().unwrap_or_default();
        let key = (path.clone(), finding.line, finding.column, finding.rule);
        match sites.get_mut(&key) {
            Some(site) => {
                site.count += stats.count;
                site.bytes += stats.bytes;
                site.per_frame += stats.per_frame;
                if finding.severity > site.worst.severity {
                    site.worst = finding;
                }
            }
            None => {
                sites.insert(
                    key,
                    RuntimeSite {
                        path,
                        worst: finding,
                        count: stats.count,
                        bytes: stats.bytes,
                        per_frame: stats.per_frame,
                    },
                );
            }
        }
    }
    sites.into_values().collect()
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
    let static_sites: Vec<(String, &Finding, Option<&Suppression>)> = static_report
        .all_sites()
        .map(|(f, suppression)| (normalise_path(&static_report.root, &f.file), f, suppression))
        .collect();

    // Each runtime site goes to a static site of its rule and file whose lines
    // hold it: one not taken yet if there is one (starting on that line first,
    // then the tightest), else one already taken (the same site seen twice).
    let runtime = runtime_sites(runtime_report);
    let mut taken = vec![false; static_sites.len()];
    let mut joined: BTreeMap<usize, Vec<&RuntimeSite<'_>>> = BTreeMap::new();
    let mut runtime_only = Vec::new();
    for site in &runtime {
        let line = site.worst.line;
        let best = static_sites
            .iter()
            .enumerate()
            .filter(|(_, (path, s, _))| {
                s.rule == site.worst.rule
                    && s.line <= line
                    && line <= s.end_line.max(s.line)
                    && same_file(path, &site.path)
            })
            .min_by_key(|(i, (_, s, _))| (taken[*i], s.line != line, s.end_line.saturating_sub(s.line), *i))
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                taken[i] = true;
                joined.entry(i).or_default().push(site);
            }
            None => runtime_only.push(one_sided(&site.path, site.worst, None)),
        }
    }
    let mut confirmed = Vec::new();
    for (i, sites) in joined {
        let (static_path, s, suppression) = &static_sites[i];
        let worst = sites
            .iter()
            .map(|r| r.worst)
            .max_by_key(|f| f.severity)
            .expect("a joined static site has a runtime site");
        let runtime_path = &sites[0].path;
        let file = if static_path.len() >= runtime_path.len() {
            static_path.clone()
        } else {
            runtime_path.clone()
        };
        confirmed.push(Confirmed {
            rule: s.rule,
            file,
            line: worst.line,
            static_severity: s.severity,
            runtime_severity: worst.severity,
            count: sites.iter().map(|r| r.count).sum(),
            per_frame: sites.iter().map(|r| r.per_frame).sum(),
            bytes: sites.iter().map(|r| r.bytes).sum(),
            static_reason: s.reason.clone(),
            runtime_reason: worst.reason.clone(),
            suppression: suppression.cloned(),
        });
    }
    let static_only = static_sites
        .iter()
        .zip(&taken)
        .filter(|(_, taken)| !**taken)
        .map(|((path, f, suppression), _)| one_sided(path, f, *suppression))
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

fn one_sided(path: &str, finding: &Finding, suppression: Option<&Suppression>) -> OneSided {
    OneSided {
        rule: finding.rule,
        file: path.to_string(),
        line: finding.line,
        severity: finding.severity,
        code: finding.code.clone(),
        reason: finding.reason.clone(),
        suppression: suppression.cloned(),
    }
}

/// Output formats of `d2h compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    Text,
    Json,
    Markdown,
    /// One self-contained HTML page with plots and filters.
    Html,
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
        CompareFormat::Html => html::render(comparison, out),
    }
}

#[cfg(test)]
mod tests;
