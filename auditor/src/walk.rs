//! Finding the files to audit: directories are walked like ruff does
//! (`.gitignore`, `.ignore` and hidden files respected, symlinks not followed),
//! explicit files are taken as given.

use std::path::{Path, PathBuf};

use d2h_reports::FileError;

/// A file to audit: its path on disk and its path in the report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub path: PathBuf,
    pub display: String,
}

/// The languages d2h has a front end for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Python,
    Rust,
}

/// A file's language, by extension.
pub fn language(path: &Path) -> Option<Language> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("py") => Some(Language::Python),
        Some("rs") => Some(Language::Rust),
        _ => None,
    }
}

/// Languages d2h has a front end for, by file extension.
pub fn is_supported(path: &Path) -> bool {
    language(path).is_some()
}

/// A cargo build directory (`target/` with its `CACHEDIR.TAG`): never source to audit.
fn is_build_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "target") && path.join("CACHEDIR.TAG").is_file()
}

/// The files under `inputs`, sorted by report path, and the problems met on the way.
pub fn discover(inputs: &[PathBuf], root: &Path) -> (Vec<Candidate>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let metadata = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(err) => {
                // Name a missing input as it was given, not relative to the root.
                let file = input.to_string_lossy().replace('\\', "/");
                errors.push(FileError {
                    file,
                    message: describe_io(&err),
                });
                continue;
            }
        };
        if metadata.is_file() {
            if is_supported(input) {
                files.push(Candidate {
                    path: input.clone(),
                    display: display_path(input, root),
                });
            } else {
                errors.push(FileError {
                    file: display_path(input, root),
                    message: "not a Python file or Rust file (d2h audits `.py` and `.rs` files)".to_string(),
                });
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(input)
            .follow_links(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .filter_entry(|entry| !(entry.file_type().is_some_and(|t| t.is_dir()) && is_build_dir(entry.path())))
            .build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    if is_file && is_supported(entry.path()) {
                        let path = entry.into_path();
                        let display = display_path(&path, root);
                        files.push(Candidate { path, display });
                    }
                }
                Err(err) => {
                    let file =
                        walk_error_path(&err).map_or_else(|| display_path(input, root), |p| display_path(&p, root));
                    let reason = err
                        .io_error()
                        .map_or_else(|| strip_path_prefix(&err.to_string()), describe_io);
                    errors.push(FileError {
                        file,
                        message: format!("cannot walk: {reason}"),
                    });
                }
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.display == b.display);
    (files, errors)
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn strip_path_prefix(message: &str) -> String {
    message.rsplit_once(": ").map_or(message, |(_, tail)| tail).to_string()
}

/// An I/O error in words, without Rust's `(os error N)` noise.
pub fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = err.to_string();
            match text.rfind(" (os error ") {
                Some(at) if text.ends_with(')') => text[..at].to_string(),
                _ => text,
            }
        }
    }
}

/// `path` relative to `root`, `/`-separated.
pub fn display_path(path: &Path, root: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let text = relative.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text).to_string();
    if text.is_empty() {
        path.file_name().map_or_else(
            || path.to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    } else {
        text
    }
}
