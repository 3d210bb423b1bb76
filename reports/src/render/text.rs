//! The text renderer (the default): rustc/ruff-style diagnostics with a code
//! frame, why the site has its severity, the call where the hot path enters
//! the chain to it (`= via:`), and the rule's fix hint; then file errors,
//! runtime sections and the summary sentence.

use std::io;

use unicode_width::UnicodeWidthChar;

use super::common::{grade, human_bytes, plural, printable, summary_sentence, Palette, Style};
use super::RenderOptions;
use crate::{Finding, LatencyStats, MemoryStats, Report, RuntimeStats, SourceCache};

/// Columns a tab is expanded to in code frames (as rustc does).
const TAB_WIDTH: usize = 4;
/// Lines wider than this (in terminal columns) are cut around the site.
const MAX_FRAME_WIDTH: usize = 160;
/// Columns of context kept on each side of a site in a cut line.
const FRAME_CONTEXT: usize = 40;

pub(crate) fn render(
    report: &Report,
    options: RenderOptions,
    sources: &SourceCache,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let paint = Palette::new(options.color);
    for finding in &report.findings {
        write_finding(finding, sources, paint, out)?;
        writeln!(out)?;
    }
    for error in &report.errors {
        writeln!(
            out,
            "{} {}: {}",
            paint.paint(Style::ERROR, "error:"),
            paint.paint(Style::BOLD, printable(&error.file)),
            printable(&error.message),
        )?;
    }
    if !report.errors.is_empty() {
        writeln!(out)?;
    }
    if let Some(latency) = &report.latency {
        write_latency(latency, paint, out)?;
        writeln!(out)?;
    }
    if let Some(memory) = &report.memory {
        write_memory(memory, paint, out)?;
        writeln!(out)?;
    }
    writeln!(out, "{}", paint.paint(Style::BOLD, summary_sentence(report)))
}

fn write_finding(f: &Finding, sources: &SourceCache, paint: Palette, out: &mut dyn io::Write) -> io::Result<()> {
    let style = Style::severity(f.severity);
    writeln!(
        out,
        "{}: {} {} {}",
        paint.paint(
            Style::BOLD,
            format_args!("{}:{}:{}", printable(&f.file), f.line, f.column)
        ),
        paint.paint(style, f.rule.code()),
        paint.paint(style, format_args!("[{}]", grade(f))),
        paint.paint(Style::BOLD, f.rule.rule().summary),
    )?;

    let pad = " ".repeat(f.line.to_string().len());
    let bar = paint.paint(Style::GUTTER, format!("{pad} |"));
    let frame = sources.line(&f.file, f.line).and_then(|line| Frame::new(line, f));
    let framed = frame.is_some();
    if let Some(frame) = frame {
        let mut label = f.rule.code().to_string();
        if f.end_line > f.line {
            label.push_str(&format!(" (continues to line {})", f.end_line));
        }
        let carets = "^".repeat(frame.width);
        writeln!(out, "{bar}")?;
        let number = paint.paint(Style::GUTTER, format!("{} |", f.line));
        if frame.text.is_empty() {
            writeln!(out, "{number}")?;
        } else {
            writeln!(out, "{number} {}", frame.text)?;
        }
        writeln!(
            out,
            "{bar} {}{}",
            " ".repeat(frame.offset),
            paint.paint(style, format_args!("{carets} {label}"))
        )?;
        writeln!(out, "{bar}")?;
    }

    let note = paint.paint(Style::GUTTER, format!("{pad} ="));
    if !framed && !f.code.is_empty() {
        // No source to frame: the finding's own copy of the code still says
        // what to look for.
        let code = paint.paint(Style::BOLD, "code");
        writeln!(out, "{note} {code}: `{}`", printable(&f.code))?;
    }
    if !f.reason.is_empty() {
        let why = paint.paint(Style::BOLD, format!("why {}", f.severity));
        writeln!(out, "{note} {why}: {}", printable(&f.reason))?;
    }
    if let Some(via) = &f.via {
        writeln!(
            out,
            "{note} {}: {}:{}:{} calls `{}`",
            paint.paint(Style::BOLD, "via"),
            printable(&via.file),
            via.line,
            via.column,
            printable(&via.calls)
        )?;
    }
    if let Some(stats) = &f.runtime {
        writeln!(
            out,
            "{note} {}: {}",
            paint.paint(Style::BOLD, "observed"),
            observed(stats)
        )?;
    }
    writeln!(
        out,
        "{note} {}: {}",
        paint.paint(Style::BOLD, "help"),
        f.rule.rule().fix_for(&f.file)
    )
}

/// `1800× (3.00/frame), 29491200 bytes (28.1 MiB), phase frame`.
fn observed(stats: &RuntimeStats) -> String {
    let mut text = format!("{}× ({:.2}/frame), {} bytes", stats.count, stats.per_frame, stats.bytes);
    if stats.bytes >= 1024 {
        text.push_str(&format!(" ({})", human_bytes(stats.bytes as f64)));
    }
    text.push_str(&format!(", phase {}", printable(&stats.phase)));
    if stats.guarded {
        text.push_str(", behind a logging guard");
    }
    text
}

/// One source line as displayed (tabs expanded, control characters
/// neutralised, trailing blanks trimmed) and where the carets go, in
/// terminal columns.
struct Frame {
    text: String,
    offset: usize,
    width: usize,
}

impl Frame {
    /// `None` when the finding's column lies past the end of the line (the
    /// source changed since the audit): a misplaced frame is worse than none.
    /// A line wider than [`MAX_FRAME_WIDTH`] is cut to [`FRAME_CONTEXT`]
    /// columns on each side of the site (marked `…`), and a site wider than
    /// the rest of the budget gets that many carets, as rustc does: one
    /// minified line with thousands of sites must not print it thousands of times.
    fn new(line: &str, f: &Finding) -> Option<Frame> {
        let line = line.trim_end();
        let mut text = String::with_capacity(line.len());
        // Display column and byte offset in `text` before each character,
        // then the line's full width and length.
        let mut columns = Vec::with_capacity(line.len() + 1);
        let mut bytes = Vec::with_capacity(line.len() + 1);
        let mut width = 0;
        for c in line.chars() {
            columns.push(width);
            bytes.push(text.len());
            match c {
                '\t' => {
                    text.extend(std::iter::repeat_n(' ', TAB_WIDTH));
                    width += TAB_WIDTH;
                }
                c if c.is_control() => {
                    text.push('\u{FFFD}');
                    width += 1;
                }
                c => {
                    text.push(c);
                    width += c.width().unwrap_or(0);
                }
            }
        }
        columns.push(width);
        bytes.push(text.len());
        let chars = columns.len() - 1;

        let start = usize::try_from(f.column).ok()?.checked_sub(1)?;
        if start > chars {
            return None;
        }
        let end = if f.end_line == f.line {
            usize::try_from(f.end_column).ok()?.saturating_sub(1).min(chars)
        } else {
            chars
        };
        let end = end.max(start);
        if width <= MAX_FRAME_WIDTH {
            return Some(Frame {
                text,
                offset: columns[start],
                width: (columns[end] - columns[start]).max(1),
            });
        }
        // The site, at most the budget left after the context on both sides.
        let span_budget = MAX_FRAME_WIDTH - 2 * FRAME_CONTEXT;
        let end = (start..=end)
            .take_while(|&i| columns[i] - columns[start] <= span_budget)
            .last()
            .unwrap_or(start);
        let lo = (0..=start)
            .find(|&i| columns[i] + FRAME_CONTEXT >= columns[start])
            .unwrap_or(start);
        let hi = (end..=chars)
            .take_while(|&i| columns[i] <= columns[end] + FRAME_CONTEXT)
            .last()
            .unwrap_or(end);
        let mut cut = String::new();
        if lo > 0 {
            cut.push('…');
        }
        cut.push_str(&text[bytes[lo]..bytes[hi]]);
        if hi < chars {
            cut.push('…');
        }
        Some(Frame {
            text: cut,
            offset: columns[start] - columns[lo] + usize::from(lo > 0),
            width: (columns[end] - columns[start]).max(1),
        })
    }
}

fn write_latency(latency: &LatencyStats, paint: Palette, out: &mut dyn io::Write) -> io::Result<()> {
    let title = format!("Latency over {}", plural(latency.frames, "frame", "frames"));
    writeln!(out, "{}", paint.paint(Style::BOLD, title))?;
    write_rows(
        out,
        &[
            ("p50", format!("{:.2} ms", latency.p50_ms)),
            ("p95", format!("{:.2} ms", latency.p95_ms)),
            ("p99", format!("{:.2} ms", latency.p99_ms)),
            ("mean", format!("{:.2} ms", latency.mean_ms)),
        ],
    )
}

fn write_memory(memory: &MemoryStats, paint: Palette, out: &mut dyn io::Write) -> io::Result<()> {
    let growth = human_bytes(memory.device_growth_bytes as f64);
    let growth = if memory.device_growth_bytes > 0 {
        format!("+{growth}")
    } else {
        growth
    };
    writeln!(out, "{}", paint.paint(Style::BOLD, "Memory"))?;
    write_rows(
        out,
        &[
            (
                "host allocations per frame",
                format!("{:.2}", memory.host_allocations_per_frame),
            ),
            ("host bytes per frame", human_bytes(memory.host_bytes_per_frame)),
            (
                "large host buffers in frames",
                memory.large_host_buffers_in_frames.to_string(),
            ),
            ("device peak", human_bytes(memory.device_peak_bytes as f64)),
            ("device growth", growth),
        ],
    )
}

/// Indented `label  value` rows with the values aligned.
fn write_rows(out: &mut dyn io::Write, rows: &[(&str, String)]) -> io::Result<()> {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in rows {
        writeln!(out, "  {label:<width$}  {value}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use d2h_rules::{RuleId, Severity};

    fn finding(column: u32, end_column: u32) -> Finding {
        Finding {
            rule: RuleId::ExplicitCopy,
            name: "explicit-copy".to_string(),
            severity: Severity::Low,
            confidence: d2h_rules::Confidence::Certain,
            file: "min.py".to_string(),
            line: 1,
            column,
            end_line: 1,
            end_column,
            symbol: "<module>".to_string(),
            code: "x.cpu()".to_string(),
            reason: String::new(),
            fingerprint: "0000000000000000".to_string(),
            via: None,
            runtime: None,
        }
    }

    #[test]
    fn a_short_line_is_framed_whole() {
        let frame = Frame::new("y = x.cpu()", &finding(5, 12)).unwrap();
        assert_eq!(frame.text, "y = x.cpu()");
        assert_eq!((frame.offset, frame.width), (4, 7));
    }

    #[test]
    fn a_long_line_is_cut_around_the_site_with_the_carets_under_it() {
        // 3,000 sites on one line: each frame stays bounded and points at its site.
        let line = "x.cpu();".repeat(3000);
        for site in [0usize, 1, 1500, 2999] {
            let column = (site * 8 + 1) as u32;
            let frame = Frame::new(&line, &finding(column, column + 7)).unwrap();
            assert!(
                frame.text.chars().count() <= MAX_FRAME_WIDTH + 2,
                "{}",
                frame.text.len()
            );
            let under: String = frame.text.chars().skip(frame.offset).take(frame.width).collect();
            assert_eq!(under, "x.cpu()", "site {site}: {}", frame.text);
            assert_eq!(frame.text.starts_with('…'), site * 8 > FRAME_CONTEXT);
            assert_eq!(frame.text.ends_with('…'), site * 8 + 7 + FRAME_CONTEXT < line.len());
        }
    }

    #[test]
    fn a_site_wider_than_the_budget_gets_the_budget_of_carets() {
        let line = format!("f({})", "a".repeat(1000));
        let frame = Frame::new(&line, &finding(1, 1004)).unwrap();
        assert_eq!(frame.offset, 0);
        assert_eq!(frame.width, MAX_FRAME_WIDTH - 2 * FRAME_CONTEXT);
        assert!(frame.text.chars().count() <= MAX_FRAME_WIDTH + 2);
    }
}
