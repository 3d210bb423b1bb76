//! The comparison as a Markdown page.

use std::io;

use super::Comparison;
use crate::Suppression;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A suppression's cell: its reason, `yes` without one, empty when none.
fn suppressed(suppression: Option<&Suppression>) -> String {
    match suppression {
        Some(s) => s.justification.as_deref().map_or_else(|| "yes".to_string(), cell),
        None => String::new(),
    }
}

pub(super) fn render(c: &Comparison, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "# d2h compare: `{}` (static) vs `{}` (runtime)\n",
        c.static_root, c.runtime_root
    )?;
    writeln!(out, "| | sites |\n|---|---:|")?;
    writeln!(out, "| confirmed | {} |", c.confirmed.len())?;
    writeln!(out, "| severity disagreements | {} |", c.disagreements().count())?;
    writeln!(
        out,
        "| confirmed, suppressed in the source | {} |",
        c.suppressed().count()
    )?;
    writeln!(out, "| static-only (not executed) | {} |", c.static_only.len())?;
    writeln!(out, "| runtime-only (missed statically) | {} |\n", c.runtime_only.len())?;
    if !c.confirmed.is_empty() {
        writeln!(out, "## Confirmed\n")?;
        writeln!(
            out,
            "| Site | Rule | Static | Runtime | Count | Per frame | Bytes | Suppressed in the source |"
        )?;
        writeln!(out, "|---|---|---|---|---:|---:|---:|---|")?;
        for s in &c.confirmed {
            let runtime = if s.agrees() {
                s.runtime_severity.to_string()
            } else {
                format!("**{}**", s.runtime_severity)
            };
            writeln!(
                out,
                "| `{}:{}` | {} | {} | {} | {} | {:.2} | {} | {} |",
                cell(&s.file),
                s.line,
                s.rule,
                s.static_severity,
                runtime,
                s.count,
                s.per_frame,
                s.bytes,
                suppressed(s.suppression.as_ref())
            )?;
        }
        writeln!(out)?;
    }
    for (title, sites) in [("Runtime-only", &c.runtime_only), ("Static-only", &c.static_only)] {
        if sites.is_empty() {
            continue;
        }
        writeln!(out, "## {title}\n")?;
        writeln!(
            out,
            "| Site | Rule | Severity | Why | Suppressed in the source |\n|---|---|---|---|---|"
        )?;
        for s in sites {
            writeln!(
                out,
                "| `{}:{}` | {} | {} | {} | {} |",
                cell(&s.file),
                s.line,
                s.rule,
                s.severity,
                cell(&s.reason),
                suppressed(s.suppression.as_ref())
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
