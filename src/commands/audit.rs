//! `d2h audit`: run the static auditor, render the report, apply the CI gate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, ValueEnum};
use d2h_auditor::{audit, AuditOptions, Language};
use d2h_reports::{Format, RenderOptions, Report};
use d2h_rules::Severity;

use super::adoption;
use crate::args::{ConfidenceArg, FormatArg, SeverityArg};
use crate::output::{use_color, write_report};

/// A language `--lang` restricts the audit to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// `.py` files.
    Python,
    /// `.rs` files (candle, cudarc, tch, burn).
    Rust,
}

impl From<LangArg> for Language {
    fn from(arg: LangArg) -> Language {
        match arg {
            LangArg::Python => Language::Python,
            LangArg::Rust => Language::Rust,
        }
    }
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files or directories to audit [default: .]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail (exit 1) when a finding of this severity or worse exists.
    /// Default: critical, unless --max-critical or --max-medium is given.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// Drop findings less sure than this before reporting and gating
    /// [default: `min-confidence` of the configuration, else possible: all].
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,
    /// Fail when there are more than N critical findings.
    #[arg(long, value_name = "N")]
    pub max_critical: Option<usize>,
    /// Fail when there are more than N medium findings.
    #[arg(long, value_name = "N")]
    pub max_medium: Option<usize>,
    /// Write nothing to standard output; the exit code and stderr still tell the verdict.
    #[arg(long, short)]
    pub quiet: bool,
    /// Never colour the output (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Audit only these languages (repeatable, or a comma list) [default: all].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LANG")]
    pub lang: Vec<LangArg>,
    /// Read the configuration from FILE (a d2h.toml, or a pyproject.toml's
    /// [tool.d2h]) instead of the nearest one above the first path.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report and gate only findings not listed in this baseline file; list
    /// its entries that are fixed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the findings of this audit in a baseline file and exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Print counts per rule and severity instead of the findings.
    #[arg(long)]
    pub statistics: bool,
}

/// The CI gate: which counts make the audit fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub fail_on: Option<Severity>,
    pub max_critical: Option<usize>,
    pub max_medium: Option<usize>,
}

impl Gate {
    pub fn from_args(args: &AuditArgs) -> Gate {
        let explicit_limits = args.max_critical.is_some() || args.max_medium.is_some();
        let fail_on = match args.fail_on {
            Some(severity) => Some(severity.into()),
            None if explicit_limits => None,
            None => Some(Severity::Critical),
        };
        Gate {
            fail_on,
            max_critical: args.max_critical,
            max_medium: args.max_medium,
        }
    }

    /// Why the report fails the gate, if it does.
    pub fn violations(&self, report: &Report) -> Vec<String> {
        let summary = &report.summary;
        let mut reasons = Vec::new();
        if let Some(threshold) = self.fail_on {
            let count: usize = Severity::DESCENDING
                .iter()
                .filter(|s| **s >= threshold)
                .map(|s| summary.count(*s))
                .sum();
            if count > 0 {
                let scope = if threshold == Severity::Critical {
                    "critical".to_string()
                } else {
                    format!("{threshold} or worse")
                };
                reasons.push(format!(
                    "{count} {scope} finding{} (--fail-on {threshold})",
                    plural(count)
                ));
            }
        }
        if let Some(max) = self.max_critical {
            if summary.critical > max {
                reasons.push(format!(
                    "{} critical finding{}, more than --max-critical {max}",
                    summary.critical,
                    plural(summary.critical)
                ));
            }
        }
        if let Some(max) = self.max_medium {
            if summary.medium > max {
                reasons.push(format!(
                    "{} medium finding{}, more than --max-medium {max}",
                    summary.medium,
                    plural(summary.medium)
                ));
            }
        }
        reasons
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    // Paths that do not resolve, with the system's reason (missing, a symlink
    // loop, a permission): they exit 2 after the rest is audited.
    let unresolved: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            std::fs::metadata(p)
                .err()
                .map(|e| format!("{}: {}", p.display(), d2h_auditor::walk::describe_io(&e)))
        })
        .collect();
    let format: Format = args.format.into();
    let setup = adoption::Setup::new(&paths, args.config.as_deref())?;
    let progress = Arc::new(d2h_auditor::Progress::default());
    let mut options = AuditOptions {
        threads: args.threads,
        // The formats with code frames.
        keep_sources: matches!(format, Format::Text | Format::Html),
        languages: args.lang.iter().map(|l| Language::from(*l)).collect(),
        progress: Some(Arc::clone(&progress)),
        ..setup.options()?
    };
    if let Some(min) = args.min_confidence {
        options.settings.min_confidence = min.into();
    }
    let bar = crate::progress::start(progress, crate::progress::wanted(args.quiet));
    let outcome = audit(&setup.paths, &options);
    drop(bar);
    let outcome = outcome?;
    if let Some(file) = &args.write_baseline {
        adoption::write_baseline(&outcome.report, file)?;
        return Ok(ExitCode::SUCCESS);
    }
    let baselined = match &args.baseline {
        Some(file) => Some(adoption::apply_baseline(
            outcome.report.clone(),
            file,
            &outcome.audited_files,
        )?),
        None => None,
    };
    let report = baselined.as_ref().unwrap_or(&outcome.report);

    let to_file = args.output.is_some();
    if !args.quiet || to_file {
        let render_options = RenderOptions {
            color: use_color(args.no_color, to_file),
        };
        if args.statistics {
            adoption::write_text(&adoption::statistics(report, format), args.output.as_deref())?;
        } else {
            write_report(report, format, render_options, &outcome.sources, args.output.as_deref())?;
            adoption::write_baseline_section(report, format, args.output.as_deref())?;
        }
    }
    if !unresolved.is_empty() {
        eprintln!("d2h: error: cannot audit {}", unresolved.join("; "));
        return Ok(ExitCode::from(2));
    }
    let violations = Gate::from_args(&args).violations(report);
    if violations.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("d2h: gate failed: {}", violations.join("; "));
    Ok(ExitCode::from(1))
}
