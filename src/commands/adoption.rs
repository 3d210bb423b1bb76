//! What fits `d2h audit` into a team's repository: the configuration it finds,
//! explicit file lists resolved in their whole project (pre-commit), the
//! baseline, and `--statistics`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use d2h_auditor::baseline::Baseline;
use d2h_auditor::config::{project_root, Config};
use d2h_auditor::AuditOptions;
use d2h_reports::{Format, Report};
use d2h_rules::{RuleId, Severity};

/// The configuration and the scope of one audit.
#[derive(Debug)]
pub struct Setup {
    pub config: Config,
    /// What to walk: the given paths, or the project root of a file list.
    pub paths: Vec<PathBuf>,
    /// The given files, when they are audited inside their project.
    pub report_only: Option<Vec<PathBuf>>,
}

impl Setup {
    /// Loads the configuration (`--config`, else the nearest `d2h.toml` or
    /// `[tool.d2h]` above the first path) and, when every path is a file of
    /// one project, widens the audit to that project's root.
    pub fn new(paths: &[PathBuf], config_file: Option<&Path>) -> Result<Setup> {
        let config = match config_file {
            Some(file) => Config::load(file)?,
            None => Config::discover(&paths[0])?.unwrap_or_default(),
        };
        let mut setup = Setup {
            config,
            paths: paths.to_vec(),
            report_only: None,
        };
        if paths.iter().all(|p| p.is_file()) {
            let roots: BTreeSet<Option<PathBuf>> = paths
                .iter()
                .map(|p| project_root(p).map(|r| r.canonicalize().unwrap_or(r)))
                .collect();
            if let [Some(root)] = roots.into_iter().collect::<Vec<_>>().as_slice() {
                setup.paths = vec![relative_to_cwd(root)];
                setup.report_only = Some(paths.to_vec());
            }
        }
        Ok(setup)
    }

    /// Audit options with the configuration applied (policy, settings, scope).
    pub fn options(&self) -> Result<AuditOptions> {
        Ok(AuditOptions {
            policy: self.config.policy(),
            settings: self.config.settings()?,
            report_only: self.report_only.clone(),
            ..AuditOptions::default()
        })
    }
}

/// `dir` as a path from the current directory: `.`, `sub/dir`, `../..`, or absolute.
fn relative_to_cwd(dir: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir().and_then(|c| c.canonicalize()) else {
        return dir.to_path_buf();
    };
    if let Ok(below) = dir.strip_prefix(&cwd) {
        return if below.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            below.to_path_buf()
        };
    }
    if let Ok(above) = cwd.strip_prefix(dir) {
        return above.components().map(|_| "..").collect();
    }
    dir.to_path_buf()
}

/// `--write-baseline`: records the report's findings.
pub fn write_baseline(report: &Report, file: &Path) -> Result<()> {
    let baseline = Baseline::from_findings(&report.findings);
    std::fs::write(file, baseline.to_json()).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!(
        "d2h: wrote {} finding{} to {}",
        baseline.findings.len(),
        if baseline.findings.len() == 1 { "" } else { "s" },
        file.display()
    );
    Ok(())
}

/// `--baseline`: hides the findings the baseline lists.
pub fn apply_baseline(report: Report, file: &Path, audited: &BTreeSet<String>) -> Result<Report> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read baseline {}", file.display()))?;
    let baseline = Baseline::parse(&text).with_context(|| format!("{}", file.display()))?;
    Ok(baseline.apply(report, &file.to_string_lossy(), audited))
}

/// The baseline's section after a text or concise report: what it hid and
/// which of its entries are fixed.
pub fn baseline_section(report: &Report) -> Option<String> {
    let info = report.baseline.as_ref()?;
    let mut out = format!(
        "\nBaseline {}: {} known finding{} hidden",
        info.file,
        info.suppressed,
        if info.suppressed == 1 { "" } else { "s" }
    );
    if info.fixed.is_empty() {
        out.push_str(", none fixed.\n");
        return Some(out);
    }
    out.push_str(&format!(
        "; {} entr{} fixed (rewrite it with --write-baseline to drop them):\n",
        info.fixed.len(),
        if info.fixed.len() == 1 { "y" } else { "ies" }
    ));
    for entry in &info.fixed {
        out.push_str(&format!(
            "  {}: {} in `{}`: {}\n",
            entry.file, entry.rule, entry.symbol, entry.code
        ));
    }
    Some(out)
}

/// Appends the baseline section to the report's destination.
pub fn write_baseline_section(report: &Report, format: Format, output: Option<&Path>) -> Result<()> {
    if !matches!(format, Format::Text | Format::Concise) {
        return Ok(());
    }
    let Some(section) = baseline_section(report) else {
        return Ok(());
    };
    match output {
        Some(path) => {
            let mut file = OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.write_all(section.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => crate::output::print(&section),
    }
}

/// Per rule: (critical, medium, low).
fn counts(report: &Report) -> BTreeMap<RuleId, [usize; 3]> {
    let mut by_rule: BTreeMap<RuleId, [usize; 3]> = BTreeMap::new();
    for finding in &report.findings {
        let slot = match finding.severity {
            Severity::Critical => 0,
            Severity::Medium => 1,
            Severity::Low => 2,
        };
        by_rule.entry(finding.rule).or_default()[slot] += 1;
    }
    by_rule
}

/// `--statistics`: counts per rule instead of the findings; JSON with
/// `--format json` (and the other machine formats), a table otherwise.
pub fn statistics(report: &Report, format: Format) -> String {
    let by_rule = counts(report);
    if !matches!(format, Format::Text | Format::Concise | Format::Markdown) {
        let rows: Vec<serde_json::Value> = by_rule
            .iter()
            .map(|(rule, [c, m, l])| {
                serde_json::json!({
                    "code": rule.code(),
                    "name": rule.name(),
                    "count": c + m + l,
                    "critical": c,
                    "medium": m,
                    "low": l,
                })
            })
            .collect();
        return serde_json::to_string_pretty(&rows).expect("statistics serialise") + "\n";
    }
    let width = by_rule.keys().map(|r| r.name().len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:>5}  {:<6}  {:<width$}  {:>8}  {:>6}  {:>5}\n",
        "count", "code", "name", "critical", "medium", "low"
    );
    for (rule, [c, m, l]) in &by_rule {
        out.push_str(&format!(
            "{:>5}  {:<6}  {:<width$}  {c:>8}  {m:>6}  {l:>5}\n",
            c + m + l,
            rule.code(),
            rule.name()
        ));
    }
    let s = &report.summary;
    out.push_str(&format!(
        "{:>5}  {:<6}  {:<width$}  {:>8}  {:>6}  {:>5}\n",
        s.total, "total", "", s.critical, s.medium, s.low
    ));
    out
}

/// Writes text to `--output` or standard output.
pub fn write_text(text: &str, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            writer
                .write_all(text.as_bytes())
                .and_then(|()| writer.flush())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => crate::output::print(text),
    }
}
