//! The d2h static auditor.
//!
//! [`audit`] walks the given paths, runs the front end of each file's language
//! in parallel ([`python`]), joins the per-file facts into one project
//! ([`project`]) so hotness crosses functions and files, and returns a
//! [`Report`] in the shared schema plus the source text of the files with
//! findings (for code frames). One file that cannot be read or parsed is an
//! entry in the report's `errors`; the others are still audited.

pub mod model;
pub mod policy;
pub mod project;
pub mod python;
pub mod source;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use d2h_reports::{FileError, Origin, Report, SourceCache};
use rayon::prelude::*;

pub use policy::Policy;

/// Stack for analysis threads: deeply nested expressions recurse.
const ANALYSIS_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What to audit and how.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub policy: Policy,
    /// Worker threads; `None` for one per core.
    pub threads: Option<usize>,
}

/// A finished audit.
#[derive(Debug)]
pub struct AuditOutcome {
    pub report: Report,
    /// The text of the files that have findings.
    pub sources: SourceCache,
}

/// Errors that stop an audit as a whole (per-file problems are in the report).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("no paths to audit")]
    NoPaths,
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// Audits `paths` (files or directories).
pub fn audit(paths: &[PathBuf], options: &AuditOptions) -> Result<AuditOutcome, AuditError> {
    if paths.is_empty() {
        return Err(AuditError::NoPaths);
    }
    let root = report_root(paths);
    let (candidates, mut errors) = walk::discover(paths, &root);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .stack_size(ANALYSIS_STACK_BYTES)
        .build()
        .map_err(|e| AuditError::Threads(e.to_string()))?;

    let results: Vec<Result<model::FileFacts, FileError>> = pool.install(|| {
        candidates
            .par_iter()
            .map(|c| analyze_file(c, &options.policy))
            .collect()
    });
    let mut facts = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(f) => facts.push(f),
            Err(e) => errors.push(e),
        }
    }
    let files_scanned = candidates.len();
    let project = project::Project::new(&facts);
    let findings: Vec<_> = pool.install(|| {
        (0..facts.len())
            .into_par_iter()
            .flat_map_iter(|i| project.findings(i))
            .collect()
    });

    let mut sources = SourceCache::new();
    for file in &facts {
        if !file.text.is_empty() && findings.iter().any(|f| f.file == file.path) {
            sources.insert(file.path.clone(), Arc::clone(&file.text));
        }
    }
    let root_display = root_display(paths, &root);
    let report = Report::new(Origin::Static, root_display, findings, errors, files_scanned);
    Ok(AuditOutcome { report, sources })
}

fn analyze_file(candidate: &walk::Candidate, policy: &Policy) -> Result<model::FileFacts, FileError> {
    let text = source::read_source(&candidate.path).map_err(|e| FileError {
        file: candidate.display.clone(),
        message: e.to_string(),
    })?;
    let text: Arc<str> = Arc::from(text);
    let mut facts = python::analyze(&candidate.display, text, policy).map_err(|e| FileError {
        file: candidate.display.clone(),
        message: format!("syntax error at {}:{}: {}", e.line, e.column, e.message),
    })?;
    if facts.sites.is_empty() && facts.calls.is_empty() {
        facts.text = Arc::from("");
    }
    Ok(facts)
}

/// The directory report paths are relative to: the one directory given, the
/// parent of the one file given, or the current directory.
fn report_root(paths: &[PathBuf]) -> PathBuf {
    if let [single] = paths {
        if single.is_dir() {
            return single.clone();
        }
        if let Some(parent) = single.parent() {
            return parent.to_path_buf();
        }
    }
    PathBuf::from(".")
}

fn root_display(paths: &[PathBuf], root: &Path) -> String {
    if paths.len() == 1 && paths[0].is_dir() {
        return paths[0]
            .to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
            .to_string();
    }
    let text = root.to_string_lossy().replace('\\', "/");
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}
