//! One renderer per output format, chosen by one `match` in [`render`].

mod common;
mod concise;
mod json;
mod markdown;
mod text;

use std::io;

use crate::{Report, SourceCache};

/// An output format of `d2h audit` / `d2h pipeline run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// rustc/ruff-style diagnostics with code frames (the default).
    Text,
    /// One line per finding.
    Concise,
    /// The `d2h-report/1` schema, pretty-printed.
    Json,
    /// A summary table and a migration plan ordered by critical count.
    Markdown,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Text, Format::Concise, Format::Json, Format::Markdown];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Concise => "concise",
            Format::Json => "json",
            Format::Markdown => "markdown",
        }
    }
}

/// Presentation choices that are not part of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours (the CLI turns them on for a TTY without NO_COLOR).
    pub color: bool,
}

/// Writes `report` in `format` to `out`.
pub fn render(
    report: &Report,
    format: Format,
    options: RenderOptions,
    sources: &SourceCache,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, options, sources, out),
        Format::Concise => concise::render(report, options, out),
        Format::Json => json::render(report, out),
        Format::Markdown => markdown::render(report, out),
    }
}
