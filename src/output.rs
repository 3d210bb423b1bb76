//! Where reports go: a file named by `--output`, or standard output; and
//! whether to colour them (a terminal, no `NO_COLOR`, no `--no-color`).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use d2h_reports::{render, Format, RenderOptions, Report, SourceCache};

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

/// Renders `report` to `output` (a file) or to standard output.
pub fn write_report(
    report: &Report,
    format: Format,
    options: RenderOptions,
    sources: &SourceCache,
    output: Option<&Path>,
) -> Result<()> {
    match output {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            render(report, format, options, sources, &mut writer)
                .and_then(|()| writer.flush())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let stdout = io::stdout();
            let mut writer = BufWriter::new(stdout.lock());
            let result = render(report, format, options, sources, &mut writer).and_then(|()| writer.flush());
            match result {
                // A closed pipe (`d2h audit | head`) is not an error.
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to standard output"),
            }
        }
    }
}
