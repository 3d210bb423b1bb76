//! The comparison as a terminal table.

use std::io;

use super::Comparison;

pub(super) fn render(c: &Comparison, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "static: {}    runtime: {}", c.static_root, c.runtime_root)?;
    writeln!(out)?;
    // The site column is as wide as the longest site (48 at least), so the columns stay aligned.
    let sites = c
        .confirmed
        .iter()
        .map(|s| (&s.file, s.line))
        .chain(c.runtime_only.iter().map(|s| (&s.file, s.line)))
        .chain(c.static_only.iter().map(|s| (&s.file, s.line)));
    let w = sites
        .map(|(file, line)| file.chars().count() + 1 + line.to_string().len())
        .max()
        .unwrap_or(0)
        .max(48);
    writeln!(
        out,
        "{:<13} {:<7} {:<w$} {:>8} {:>8} {:>7} {:>9} {:>10}",
        "status", "rule", "site", "static", "runtime", "count", "per frame", "bytes"
    )?;
    for s in &c.confirmed {
        let status = if s.agrees() { "confirmed" } else { "disagree" };
        let site = format!("{}:{}", s.file, s.line);
        let note = if s.suppression.is_some() { "  suppressed" } else { "" };
        writeln!(
            out,
            "{:<13} {:<7} {:<w$} {:>8} {:>8} {:>7} {:>9.2} {:>10}{note}",
            status,
            s.rule.code(),
            site,
            s.static_severity.as_str(),
            s.runtime_severity.as_str(),
            s.count,
            s.per_frame,
            s.bytes
        )?;
    }
    for s in &c.runtime_only {
        let site = format!("{}:{}", s.file, s.line);
        writeln!(
            out,
            "{:<13} {:<7} {:<w$} {:>8} {:>8}",
            "runtime-only",
            s.rule.code(),
            site,
            "-",
            s.severity.as_str()
        )?;
    }
    for s in &c.static_only {
        let site = format!("{}:{}", s.file, s.line);
        let note = if s.suppression.is_some() {
            format!("{:30}  suppressed", "")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:<13} {:<7} {:<w$} {:>8} {:>8}{note}",
            "static-only",
            s.rule.code(),
            site,
            s.severity.as_str(),
            "-"
        )?;
    }
    writeln!(out)?;
    let suppressed = c.suppressed().count();
    let suppressed = if suppressed > 0 {
        format!(", {suppressed} suppressed in the source")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} confirmed ({} with different severities{suppressed}), {} static-only (not executed), {} runtime-only (missed by the static audit).",
        c.confirmed.len(),
        c.disagreements().count(),
        c.static_only.len(),
        c.runtime_only.len()
    )
}
