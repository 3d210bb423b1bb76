//! The concise renderer: one ruff-style line per finding (ending with `(via
//! file:line)` where a hot path enters the chain to the site), one per file
//! error, and the summary sentence.

use std::io;

use super::common::{grade, printable, summary_sentence, Palette, Style};
use super::RenderOptions;
use crate::Report;

pub(crate) fn render(report: &Report, options: RenderOptions, out: &mut dyn io::Write) -> io::Result<()> {
    let paint = Palette::new(options.color);
    for f in &report.findings {
        let style = Style::severity(f.severity);
        write!(
            out,
            "{}: {} {} {}: `{}`",
            paint.paint(
                Style::BOLD,
                format_args!("{}:{}:{}", printable(&f.file), f.line, f.column)
            ),
            paint.paint(style, f.rule.code()),
            paint.paint(style, format_args!("[{}]", grade(f))),
            f.rule.rule().summary,
            printable(&f.code),
        )?;
        if let Some(via) = &f.via {
            write!(out, " (via {}:{})", printable(&via.file), via.line)?;
        }
        if let Some(stats) = &f.runtime {
            write!(out, " ({}× observed, {:.2}/frame)", stats.count, stats.per_frame)?;
        }
        writeln!(out)?;
    }
    for e in &report.errors {
        writeln!(
            out,
            "{}: {} {}",
            paint.paint(Style::BOLD, printable(&e.file)),
            paint.paint(Style::ERROR, "error:"),
            printable(&e.message),
        )?;
    }
    writeln!(out, "{}", paint.paint(Style::BOLD, summary_sentence(report)))
}
