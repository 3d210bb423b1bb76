//! The one output sink of every command: a file named by `--output`, or
//! standard output; and whether to colour what goes to a terminal (no
//! `NO_COLOR`, no `--no-color`).
//!
//! Standard output closed by its reader (`d2h audit | head -1`) is not an
//! error: the write fails with [`StdoutClosed`], the command stops there, and
//! `main` exits 0 without a word, as ripgrep does. Writing through [`write_to`]
//! (or [`print`]) rather than `print!` is what gives every command that
//! behaviour (`print!` panics on a closed pipe).

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use d2h_reports::{render, Format, RenderOptions, Report, SourceCache};

/// Standard output was closed before the command finished writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Whether `err` is [`StdoutClosed`]: the command ends quietly, exit code 0.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.is::<StdoutClosed>()
}

/// Whether output to the terminal should be coloured.
pub fn use_color(no_color_flag: bool, to_file: bool) -> bool {
    if no_color_flag || to_file {
        return false;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    io::stdout().is_terminal()
}

/// Runs `body` on a buffered writer to `output` (a file) or to standard output.
pub fn write_to(output: Option<&Path>, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    match output {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            body(&mut writer)
                .and_then(|()| writer.flush())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut writer = BufWriter::new(io::stdout().lock());
            match body(&mut writer).and_then(|()| writer.flush()) {
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
                other => other.context("cannot write to standard output"),
            }
        }
    }
}

/// Writes `text` to standard output.
pub fn print(text: &str) -> Result<()> {
    write_to(None, |out| out.write_all(text.as_bytes()))
}

/// Renders `report` to `output` (a file) or to standard output.
pub fn write_report(
    report: &Report,
    format: Format,
    options: RenderOptions,
    sources: &SourceCache,
    output: Option<&Path>,
) -> Result<()> {
    write_to(output, |out| render(report, format, options, sources, out))
}
