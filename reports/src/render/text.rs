//! The text renderer (the default): rustc/ruff-style diagnostics with a code
//! frame and the rule's fix hint, then file errors, runtime sections and the
//! summary sentence.

use std::io;

use unicode_width::UnicodeWidthChar;

use super::common::{human_bytes, plural, printable, summary_sentence, Palette, Style};
use super::RenderOptions;
use crate::{Finding, LatencyStats, MemoryStats, Report, RuntimeStats, SourceCache};

/// Columns a tab is expanded to in code frames (as rustc does).
const TAB_WIDTH: usize = 4;

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
        paint.paint(style, format_args!("[{}]", f.severity)),
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
        f.rule.rule().fix
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
    fn new(line: &str, f: &Finding) -> Option<Frame> {
        let line = line.trim_end();
        let mut text = String::with_capacity(line.len());
        // Display column before each character, then the line's full width.
        let mut columns = Vec::with_capacity(line.len() + 1);
        let mut width = 0;
        for c in line.chars() {
            columns.push(width);
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
        Some(Frame {
            text,
            offset: columns[start],
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
