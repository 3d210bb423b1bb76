//! Helpers shared by the human-facing renderers: ANSI styles, plurals, byte
//! sizes, severity counts and the closing summary sentence.

use std::borrow::Cow;
use std::fmt;

use d2h_rules::Severity;

use crate::{Finding, Origin, Report};

/// An ANSI SGR style (`"1;31"` is bold red).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Style(&'static str);

impl Style {
    pub const BOLD: Style = Style("1");
    pub const ERROR: Style = Style("1;31");
    pub const GUTTER: Style = Style("1;34");

    /// Critical red, medium yellow, low green.
    pub fn severity(severity: Severity) -> Style {
        match severity {
            Severity::Critical => Style("1;31"),
            Severity::Medium => Style("1;33"),
            Severity::Low => Style("1;32"),
        }
    }
}

/// Paints text with ANSI escapes when colour is on, and leaves it untouched
/// (no escape byte at all) when it is off.
#[derive(Debug, Clone, Copy)]
pub(super) struct Palette {
    enabled: bool,
}

impl Palette {
    pub fn new(enabled: bool) -> Palette {
        Palette { enabled }
    }

    pub fn paint<T: fmt::Display>(self, style: Style, value: T) -> Painted<T> {
        Painted {
            style: self.enabled.then_some(style),
            value,
        }
    }
}

/// A value that displays with (or without) its style.
pub(super) struct Painted<T> {
    style: Option<Style>,
    value: T,
}

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            Some(Style(sgr)) => write!(f, "\x1b[{sgr}m{}\x1b[0m", self.value),
            None => self.value.fmt(f),
        }
    }
}

/// `1 file`, `2 files`, `0 files`.
pub(super) fn plural(count: impl Into<u64>, singular: &str, plural: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// A byte size for humans: `512 B`, `4.0 KiB`, `1.5 GiB`.
pub(super) fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let sign = if bytes < 0.0 { "-" } else { "" };
    let mut value = bytes.abs();
    if value < 1024.0 {
        return format!("{sign}{value:.0} B");
    }
    let mut unit = UNITS[0];
    value /= 1024.0;
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{sign}{value:.1} {unit}")
}

/// Untrusted text (source code, messages) made safe for a terminal or a
/// one-line cell: every control character but tab becomes `�`, so a source
/// file can never smuggle escape sequences or line breaks into the output.
pub(super) fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(|c| c.is_control() && c != '\t') {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() && c != '\t' { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// A finding's bracket in the text renderers: its severity, and its
/// confidence when it is not certain (`critical`, `critical, possible`).
pub(super) fn grade(f: &Finding) -> String {
    if f.confidence.is_certain() {
        f.severity.to_string()
    } else {
        format!("{}, {}", f.severity, f.confidence)
    }
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub critical: usize,
    pub medium: usize,
    pub low: usize,
}

impl Counts {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Counts {
        let mut counts = Counts::default();
        for finding in findings {
            counts.add(finding.severity);
        }
        counts
    }

    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
    }

    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }

    pub fn total(&self) -> usize {
        self.critical + self.medium + self.low
    }
}

/// Total transfers observed over the runtime findings of a report.
pub(super) fn observed_transfers(report: &Report) -> u64 {
    report
        .findings
        .iter()
        .filter_map(|f| f.runtime.as_ref())
        .map(|r| r.count)
        .sum()
}

/// The closing sentence, e.g. `Found 79 transfers (23 critical, 37 medium,
/// 19 low) in 12 files scanned; 1 file could not be audited.`
pub(super) fn summary_sentence(report: &Report) -> String {
    let s = &report.summary;
    let breakdown = Severity::DESCENDING
        .iter()
        .map(|&severity| format!("{} {severity}", s.count(severity)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sentence = match report.origin {
        Origin::Static => {
            let scanned = plural(s.files_scanned as u64, "file", "files");
            if s.total == 0 {
                format!("No transfers found in {scanned} scanned")
            } else {
                let found = plural(s.total as u64, "transfer", "transfers");
                format!("Found {found} ({breakdown}) in {scanned} scanned")
            }
        }
        Origin::Runtime => {
            if s.total == 0 {
                "No transfers observed".to_string()
            } else {
                let sites = plural(s.total as u64, "transfer site", "transfer sites");
                let transfers = plural(observed_transfers(report), "transfer", "transfers");
                format!("Observed {sites} ({breakdown}), {transfers} in total")
            }
        }
    };
    if s.files_with_errors > 0 {
        let files = plural(s.files_with_errors as u64, "file", "files");
        sentence.push_str(&format!("; {files} could not be audited"));
    }
    if s.suppressed > 0 {
        let findings = plural(s.suppressed as u64, "finding", "findings");
        sentence.push_str(&format!("; {findings} suppressed in the source (not counted)"));
    }
    sentence.push('.');
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_sizes() {
        assert_eq!(plural(1u64, "file", "files"), "1 file");
        assert_eq!(plural(0u64, "file", "files"), "0 files");
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(-12.0 * 1024.0 * 1024.0), "-12.0 MiB");
        assert_eq!(human_bytes(2.0 * 1024.0 * 1024.0 * 1024.0), "2.0 GiB");
    }

    #[test]
    fn painting_is_a_no_op_without_colour() {
        assert_eq!(Palette::new(false).paint(Style::BOLD, "x").to_string(), "x");
        assert_eq!(
            Palette::new(true).paint(Style::BOLD, "x").to_string(),
            "\x1b[1mx\x1b[0m"
        );
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(printable("a\x1b[31mb\tc"), "a\u{FFFD}[31mb\tc");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
    }
}
