//! The GitHub renderer: one GitHub Actions workflow command per finding, which
//! the runner turns into an annotation on the pull request's diff.
//!
//! ```text
//! ::error file=src/predictor.py,line=88,col=34,endLine=88,endColumn=65,title=D2H001 explicit-copy::explicit device-to-host copy: `…` (critical: …)%0Ahelp: …
//! ```
//!
//! - The command is `error`, `warning` or `notice` for a critical, medium or
//!   low finding.
//! - `file` is relative to the directory d2h ran in: a relative report root
//!   is joined in front of the finding's file (`d2h audit src` reports
//!   `src/predictor.py`), and an absolute root gives an absolute path, which
//!   the runner makes relative to the workspace itself. Run d2h from the
//!   repository root (the default working directory of a job).
//! - `col` and `endColumn` (1-based, the end exclusive, in characters) are
//!   given for single-line sites only: the runner drops columns when `line`
//!   and `endLine` differ.
//! - The message is the finding's summary, code and reason (with the call
//!   where the hot path enters the chain to the site, when it has one: `; via
//!   the call of `postprocess` at app/loop.py:12:9`), then the rule's fix hint
//!   on a second line.
//! - A file that could not be audited is an `error` on that file.
//!
//! Escaping follows the workflow-command format: `%`, CR and LF are
//! percent-encoded in the message, and `:` and `,` too in properties. Other
//! control characters from the audited code become `�` before that, so a
//! source file can neither end a command early nor start another one.

use std::io;

use d2h_rules::Severity;

use super::common::printable;
use super::{finding_message, Root};
use crate::Report;

pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let root = Root::of(&report.root);
    for f in &report.findings {
        let command = match f.severity {
            Severity::Critical => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        let mut properties = vec![
            ("file", printable(&root.joined(&f.file)).into_owned()),
            ("line", f.line.to_string()),
        ];
        if f.end_line == f.line {
            properties.push(("col", f.column.to_string()));
            properties.push(("endLine", f.end_line.to_string()));
            properties.push(("endColumn", f.end_column.to_string()));
        } else {
            properties.push(("endLine", f.end_line.to_string()));
        }
        properties.push(("title", format!("{} {}", f.rule.code(), f.rule.name())));
        // The finding's line is untrusted; the help line is the catalog's.
        let message = format!(
            "{}\nhelp: {}",
            printable(&finding_message(f, &root)),
            f.rule.rule().fix_for(&f.file)
        );
        write_command(out, command, &properties, &message)?;
    }
    for e in &report.errors {
        let properties = [
            ("file", printable(&root.joined(&e.file)).into_owned()),
            ("title", "d2h could not audit this file".to_string()),
        ];
        write_command(out, "error", &properties, &printable(&e.message))?;
    }
    Ok(())
}

fn write_command(
    out: &mut dyn io::Write,
    command: &str,
    properties: &[(&str, String)],
    message: &str,
) -> io::Result<()> {
    write!(out, "::{command}")?;
    for (i, (key, value)) in properties.iter().enumerate() {
        let separator = if i == 0 { ' ' } else { ',' };
        write!(out, "{separator}{key}={}", escape_property(value))?;
    }
    writeln!(out, "::{}", escape_data(message))
}

/// The message of a command: `%`, CR and LF percent-encoded.
fn escape_data(text: &str) -> String {
    escape(text, false)
}

/// A property value: `%`, CR, LF, `:` and `,` percent-encoded.
fn escape_property(text: &str) -> String {
    escape(text, true)
}

/// Callers pass untrusted text through `printable` first, so the only line
/// breaks left are d2h's own.
fn escape(text: &str, property: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '\r' => escaped.push_str("%0D"),
            '\n' => escaped.push_str("%0A"),
            ':' if property => escaped.push_str("%3A"),
            ',' if property => escaped.push_str("%2C"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_as_the_runner_expects() {
        assert_eq!(escape_data("50% of a:b, c\nnext"), "50%25 of a:b, c%0Anext");
        assert_eq!(escape_property("a:b, 50%"), "a%3Ab%2C 50%25");
        assert_eq!(escape_property("a\r\nb"), "a%0D%0Ab");
    }
}
