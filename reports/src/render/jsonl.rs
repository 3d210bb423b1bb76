//! The JSON Lines renderer (`json-lines`): one compact JSON object per line,
//! for `jq`, log shippers and line-oriented tools.
//!
//! - Each finding is one line holding exactly the `findings[]` object of the
//!   `d2h-report/1` schema (runtime fields included), in report order.
//! - Then each file that could not be audited is one line
//!   `{"file": …, "message": …, "kind": "error"}`; a finding has no `kind`
//!   key, so `select(.kind != "error")` keeps the findings.
//! - No summary line, and nothing at all for a clean report. Paths are
//!   relative to the report's root, as in the JSON report.

use std::io;

use serde::Serialize;

use crate::Report;

#[derive(Serialize)]
struct ErrorLine<'a> {
    file: &'a str,
    message: &'a str,
    kind: &'static str,
}

pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    for finding in &report.findings {
        serde_json::to_writer(&mut *out, finding).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    for error in &report.errors {
        let line = ErrorLine {
            file: &error.file,
            message: &error.message,
            kind: "error",
        };
        serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}
