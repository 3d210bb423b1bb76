//! The d2h report: one schema (`d2h-report/1`) for the static auditor and the
//! runtime pipeline, and one renderer per output format.
//!
//! A [`Report`] is plain data; [`render`] turns it into text, concise lines,
//! JSON, a Markdown migration plan or a self-contained HTML page with plots. Renderers write into a caller-supplied
//! `io::Write`: this crate never prints.

pub mod compare;
mod fingerprint;
mod render;
mod schema;
mod sources;

pub use fingerprint::{fingerprint, Fingerprinter};
pub use render::{render, Format, RenderOptions};
pub use schema::{
    BaselineEntry, BaselineInfo, DriverStats, FileError, Finding, KernelShare, LatencyStats, MemoryStats, Origin,
    PipelineInfo, Report, RuntimeStats, Summary, SuppressedFinding, Suppression, SuppressionKind, Timeline, Tool, Via,
    SCHEMA,
};
pub use sources::SourceCache;
