//! `d2h compare STATIC.json RUNTIME.json`: the static and runtime views side by side.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use d2h_reports::compare::{compare, render, CompareFormat};
use d2h_reports::Report;

use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormatArg {
    Text,
    Json,
    Markdown,
    /// One self-contained HTML page with plots and filters.
    Html,
}

/// What makes `d2h compare` fail (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A transfer observed at run time that the static audit did not find.
    Missed,
    /// A site whose static and runtime severities differ.
    Disagree,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A static report (`d2h audit --format json`).
    pub static_report: PathBuf,
    /// A runtime report (`d2h pipeline run --format json`, or the Python probe's).
    pub runtime_report: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormatArg::Text)]
    pub format: CompareFormatArg,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail on runtime-only sites (`missed`) and/or severity disagreements (`disagree`).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub fail_on: Vec<FailOn>,
}

fn read_report(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a d2h report", path.display()))
}

pub fn run(args: CompareArgs) -> Result<ExitCode> {
    let static_report = read_report(&args.static_report)?;
    let runtime_report = read_report(&args.runtime_report)?;
    let comparison = compare(&static_report, &runtime_report).with_context(|| {
        format!(
            "cannot compare {} with {}",
            args.static_report.display(),
            args.runtime_report.display()
        )
    })?;
    let format = match args.format {
        CompareFormatArg::Text => CompareFormat::Text,
        CompareFormatArg::Json => CompareFormat::Json,
        CompareFormatArg::Markdown => CompareFormat::Markdown,
        CompareFormatArg::Html => CompareFormat::Html,
    };
    output::write_to(args.output.as_deref(), |out| render(&comparison, format, out))?;
    let mut failures = Vec::new();
    if args.fail_on.contains(&FailOn::Missed) && !comparison.runtime_only.is_empty() {
        failures.push(format!(
            "{} runtime-only site(s) missed by the static audit",
            comparison.runtime_only.len()
        ));
    }
    let disagreements = comparison.disagreements().count();
    if args.fail_on.contains(&FailOn::Disagree) && disagreements > 0 {
        failures.push(format!("{disagreements} severity disagreement(s)"));
    }
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("d2h: compare failed: {}", failures.join("; "));
    Ok(ExitCode::from(1))
}
