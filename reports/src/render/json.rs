//! The JSON renderer: the schema itself, pretty-printed, with a final newline.

use std::io;

use crate::Report;

pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}
