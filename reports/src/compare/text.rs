//! The comparison as a terminal table.

use std::io;

use super::Comparison;

pub(super) fn render(c: &Comparison, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "static: {}    runtime: {}", c.static_root, c.runtime_root)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<13} {:<7} {:<48} {:>8} {:>8} {:>7} {:>9} {:>10}",
        "status", "rule", "site", "static", "runtime", "count", "per frame", "bytes"
    )?;
    for s in &c.confirmed {
        let status = if s.agrees() { "confirmed" } else { "disagree" };
        let site = format!("{}:{}", s.file, s.line);
        writeln!(
            out,
            "{:<13} {:<7} {:<48} {:>8} {:>8} {:>7} {:>9.2} {:>10}",
            status, s.rule, site, s.static_severity, s.runtime_severity, s.count, s.per_frame, s.bytes
        )?;
    }
    for s in &c.runtime_only {
        let site = format!("{}:{}", s.file, s.line);
        writeln!(
            out,
            "{:<13} {:<7} {:<48} {:>8} {:>8}",
            "runtime-only", s.rule, site, "-", s.severity
        )?;
    }
    for s in &c.static_only {
        let site = format!("{}:{}", s.file, s.line);
        writeln!(
            out,
            "{:<13} {:<7} {:<48} {:>8} {:>8}",
            "static-only", s.rule, site, s.severity, "-"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} confirmed ({} with different severities), {} static-only (not executed), {} runtime-only (missed by the static audit).",
        c.confirmed.len(),
        c.disagreements().count(),
        c.static_only.len(),
        c.runtime_only.len()
    )
}
