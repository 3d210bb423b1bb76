//! Command-line values shared by subcommands: output formats, severities and confidences.

use clap::ValueEnum;
use d2h_reports::Format;
use d2h_rules::{Confidence, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Diagnostics with code frames and fix hints.
    Text,
    /// One line per finding.
    Concise,
    /// The d2h-report/1 schema.
    Json,
    /// Summary table and migration plan.
    Markdown,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// One JSON object per finding, per line.
    JsonLines,
    /// GitLab Code Quality report.
    Gitlab,
    /// One self-contained HTML page with plots and filters.
    Html,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Text => Format::Text,
            FormatArg::Concise => Format::Concise,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
            FormatArg::JsonLines => Format::JsonLines,
            FormatArg::Gitlab => Format::Gitlab,
            FormatArg::Html => Format::Html,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Critical,
    Medium,
    Low,
}

impl From<SeverityArg> for Severity {
    fn from(arg: SeverityArg) -> Severity {
        match arg {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    /// Only findings proven in their function (or of an unambiguous API).
    Certain,
    /// Also findings inferred through the call graph.
    Likely,
    /// Also findings whose receiver may be a host value (all).
    Possible,
}

impl From<ConfidenceArg> for Confidence {
    fn from(arg: ConfidenceArg) -> Confidence {
        match arg {
            ConfidenceArg::Certain => Confidence::Certain,
            ConfidenceArg::Likely => Confidence::Likely,
            ConfidenceArg::Possible => Confidence::Possible,
        }
    }
}
