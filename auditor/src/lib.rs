//! The d2h static auditor.
//!
//! [`audit`] walks the given paths, runs the front end of each file's language
//! in parallel ([`python`], [`rust`]), joins the per-file facts into one project
//! ([`project`]) so hotness crosses functions and files, and returns a
//! [`Report`] in the shared schema plus the source text of the files with
//! findings (for code frames). One file that cannot be read or parsed is an
//! entry in the report's `errors`; the others are still audited.

pub mod baseline;
pub mod config;
pub mod facts;
pub mod filter;
pub mod model;
pub mod policy;
pub mod project;
pub mod python;
mod rules;
pub mod rust;
pub mod source;
pub mod suppress;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use d2h_reports::{FileError, Origin, Report, SourceCache};
use rayon::prelude::*;

pub use policy::Policy;
pub use walk::Language;

/// Stack for analysis threads: deeply nested expressions recurse.
const ANALYSIS_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What to audit and how.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub policy: Policy,
    /// Worker threads; `None` for one per core.
    pub threads: Option<usize>,
    /// Keep the text of files with findings, for code frames.
    pub keep_sources: bool,
    /// Audit only files of these languages; empty for all.
    pub languages: Vec<Language>,
    /// The configuration's post-filter and exclude globs ([`config::Config::settings`]).
    pub settings: filter::Settings,
    /// Report only these files (of the walked `paths`, typically their project
    /// root): the others still give hot-path context. `None`: report all.
    pub report_only: Option<Vec<PathBuf>>,
    /// Counters a caller may watch to show progress (the library never draws it).
    pub progress: Option<Arc<Progress>>,
}

/// How far an audit is: files found, files analysed. Updated as the audit runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: std::sync::atomic::AtomicUsize,
    pub done: std::sync::atomic::AtomicUsize,
}

/// A finished audit.
#[derive(Debug)]
pub struct AuditOutcome {
    pub report: Report,
    /// The text of the files that have findings.
    pub sources: SourceCache,
    /// Report paths of the files audited and reported (for baselines).
    pub audited_files: std::collections::BTreeSet<String>,
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
    let (mut candidates, mut errors) = walk::discover(paths, &root);
    if !options.languages.is_empty() {
        candidates.retain(|c| walk::language(&c.path).is_some_and(|l| options.languages.contains(&l)));
    }
    let scope = filter::AuditScope::new(
        &options.settings,
        options.report_only.as_deref(),
        &root,
        &mut candidates,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .stack_size(ANALYSIS_STACK_BYTES)
        .build()
        .map_err(|e| AuditError::Threads(e.to_string()))?;

    if let Some(progress) = &options.progress {
        progress
            .total
            .store(candidates.len(), std::sync::atomic::Ordering::Relaxed);
    }
    let results: Vec<Result<model::FileFacts, FileError>> = pool.install(|| {
        candidates
            .par_iter()
            .map(|c| {
                let result = analyze_file(c, &options.policy);
                if let Some(progress) = &options.progress {
                    progress.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                result
            })
            .collect()
    });
    let mut facts = Vec::with_capacity(results.len());
    let mut disk_paths = Vec::with_capacity(results.len());
    for (result, candidate) in results.into_iter().zip(&candidates) {
        match result {
            Ok(f) => {
                facts.push(f);
                disk_paths.push(candidate.path.as_path());
            }
            Err(e) => errors.push(e),
        }
    }
    let files_scanned = scope.reported_count(&candidates);
    let project = project::Project::new(&facts, &options.policy);
    let load = |i: usize| source::read_source(disk_paths[i]).ok().map(Arc::from);
    let per_file: Vec<filter::Filtered> = pool.install(|| {
        (0..facts.len())
            .into_par_iter()
            .map(|i| {
                let found = project.findings(i, &|| load(i));
                options.settings.apply_to_file(&facts[i].path, disk_paths[i], found)
            })
            .collect()
    });
    let mut suppressed = Vec::new();
    let per_file: Vec<_> = per_file
        .into_iter()
        .enumerate()
        .map(|(i, filtered)| {
            if scope.reports(&facts[i].path) {
                suppressed.extend(filtered.suppressed);
                filtered.findings
            } else {
                Vec::new()
            }
        })
        .collect();
    errors.retain(|e| scope.reports(&e.file));
    let audited_files = facts
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| scope.reports(p))
        .collect();

    // Code frames need the text of the files with findings: read them again
    // rather than keep every file's text through the project pass.
    let mut sources = SourceCache::new();
    for (i, file_findings) in per_file.iter().enumerate() {
        if options.keep_sources && !file_findings.is_empty() {
            if let Some(text) = load(i) {
                sources.insert(facts[i].path.clone(), text);
            }
        }
    }
    let findings: Vec<_> = per_file.into_iter().flatten().collect();
    let root_display = root_display(paths, &root);
    let report = Report::new(Origin::Static, root_display, findings, errors, files_scanned).with_suppressed(suppressed);
    Ok(AuditOutcome {
        report,
        sources,
        audited_files,
    })
}

fn analyze_file(candidate: &walk::Candidate, policy: &Policy) -> Result<model::FileFacts, FileError> {
    let text = source::read_source(&candidate.path).map_err(|e| FileError {
        file: candidate.display.clone(),
        message: e.to_string(),
    })?;
    let analyzed = match walk::language(&candidate.path) {
        Some(Language::Rust) => rust::analyze(&candidate.display, &text, policy),
        _ => python::analyze(&candidate.display, &text, policy),
    };
    analyzed.map_err(|e| FileError {
        file: candidate.display.clone(),
        message: e.to_string(),
    })
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
