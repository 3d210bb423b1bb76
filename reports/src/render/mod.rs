//! One renderer per output format, chosen by one `match` in [`render`].

mod common;
mod concise;
mod github;
mod gitlab;
pub(crate) mod html;
mod json;
mod jsonl;
mod markdown;
mod sarif;
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
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// One JSON object per line: each finding, then each file error.
    JsonLines,
    /// A GitLab Code Quality report.
    Gitlab,
    /// One self-contained HTML page with plots and filters.
    Html,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Text,
        Format::Concise,
        Format::Json,
        Format::Markdown,
        Format::Sarif,
        Format::Github,
        Format::JsonLines,
        Format::Gitlab,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Concise => "concise",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::JsonLines => "json-lines",
            Format::Gitlab => "gitlab",
            Format::Html => "html",
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
        Format::Sarif => sarif::render(report, out),
        Format::Github => github::render(report, out),
        Format::JsonLines => jsonl::render(report, out),
        Format::Gitlab => gitlab::render(report, out),
        Format::Html => html::render(report, sources, out),
    }
}

/// The one-line message of a finding in the CI formats (SARIF, GitHub,
/// GitLab): the rule's summary, the site's code and why it has its severity,
/// and where the hot path enters the chain to it (its file as `root` gives it
/// to these formats: relative to the repository).
fn finding_message(finding: &crate::Finding, root: &Root) -> String {
    let via = finding
        .via
        .as_ref()
        .map(|via| {
            format!(
                "; via the call of `{}` at {}:{}:{}",
                via.calls,
                root.relative(&via.file),
                via.line,
                via.column
            )
        })
        .unwrap_or_default();
    format!(
        "{}: `{}` ({}: {}{via})",
        finding.rule.rule().summary,
        finding.code,
        common::grade(finding),
        finding.reason
    )
}

/// A report's root, told from its text alone: the filesystem is never
/// consulted, so a path that would need it (`..` above a relative root, a
/// symlink) is kept as written.
///
/// Findings are relative to the root; GitHub annotations, GitLab Code Quality
/// and SARIF want paths relative to the repository, which in CI is the
/// directory d2h runs in. So a relative root is joined in front of each file
/// (`d2h audit examples/legacy-pipeline` reports `predictor.py` as
/// `examples/legacy-pipeline/predictor.py`), and `.`, `./` or an empty root
/// leave files as they are. What an absolute root does depends on the format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Root {
    /// `.`, `./` or empty: the directory d2h ran in.
    Here,
    /// A relative path without `.` components, `./` prefix or trailing `/`.
    Relative(String),
    /// An absolute path (`/srv/repo`, `C:/repo`, `//host/share`), normalised
    /// the same way; `/` ends it.
    Absolute(String),
}

impl Root {
    fn of(root: &str) -> Root {
        let path = NormalPath::of(root);
        match (path.prefix, path.parts.is_empty()) {
            ("", true) => Root::Here,
            ("", false) => Root::Relative(path.parts.join("/")),
            (prefix, true) => Root::Absolute(prefix.to_string()),
            (prefix, false) => Root::Absolute(format!("{prefix}{}/", path.parts.join("/"))),
        }
    }

    /// `file` relative to the directory d2h ran in, or absolute under an
    /// absolute root: for GitHub, whose runner turns absolute paths inside
    /// the workspace into repository paths itself.
    fn joined(&self, file: &str) -> String {
        match self {
            Root::Here => NormalPath::of(file).to_string(),
            Root::Relative(root) | Root::Absolute(root) => join(root, file),
        }
    }

    /// `file` relative to the directory d2h ran in, and relative to the root
    /// itself under an absolute root (which is then taken for the repository,
    /// as in `d2h audit "$CI_PROJECT_DIR"`): for formats that only take
    /// repository-relative paths.
    fn relative(&self, file: &str) -> String {
        match self {
            Root::Relative(root) => join(root, file),
            Root::Here | Root::Absolute(_) => NormalPath::of(file).to_string(),
        }
    }
}

/// `root/file`, normalised; an absolute `file` stands alone.
fn join(root: &str, file: &str) -> String {
    if !NormalPath::of(file).prefix.is_empty() {
        return NormalPath::of(file).to_string();
    }
    NormalPath::of(&format!("{}/{file}", root.trim_end_matches('/'))).to_string()
}

/// A `/`-separated path split into its prefix (``, `/`, `//` or a drive such
/// as `C:/`) and its parts, with `.` and empty parts dropped and `x/..`
/// folded.
#[derive(Debug)]
struct NormalPath<'a> {
    prefix: &'a str,
    parts: Vec<&'a str>,
}

impl<'a> NormalPath<'a> {
    fn of(path: &'a str) -> NormalPath<'a> {
        let bytes = path.as_bytes();
        let prefix_len = if path.starts_with("//") && !path.starts_with("///") {
            2
        } else if path.starts_with('/') {
            1
        } else if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/' {
            3
        } else {
            0
        };
        let (prefix, rest) = path.split_at(prefix_len);
        let mut parts: Vec<&str> = Vec::new();
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." if parts.last().is_some_and(|last| *last != "..") => {
                    parts.pop();
                }
                // Nothing lies above an absolute root.
                ".." if !prefix.is_empty() => {}
                part => parts.push(part),
            }
        }
        NormalPath { prefix, parts }
    }
}

impl std::fmt::Display for NormalPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.prefix, self.parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_classified_from_their_text() {
        assert_eq!(Root::of("."), Root::Here);
        assert_eq!(Root::of("./"), Root::Here);
        assert_eq!(Root::of(""), Root::Here);
        assert_eq!(Root::of("a/.."), Root::Here);
        assert_eq!(
            Root::of("./examples//legacy/"),
            Root::Relative("examples/legacy".into())
        );
        assert_eq!(Root::of("../other"), Root::Relative("../other".into()));
        assert_eq!(Root::of("/srv/repo/./x/.."), Root::Absolute("/srv/repo/".into()));
        assert_eq!(Root::of("/"), Root::Absolute("/".into()));
        assert_eq!(Root::of("C:/work/repo"), Root::Absolute("C:/work/repo/".into()));
        assert_eq!(Root::of("//host/share"), Root::Absolute("//host/share/".into()));
    }

    #[test]
    fn files_are_joined_to_relative_roots_only_where_asked() {
        let rel = Root::of("./examples/legacy-pipeline");
        assert_eq!(rel.joined("predictor.py"), "examples/legacy-pipeline/predictor.py");
        assert_eq!(rel.relative("./sub/x.py"), "examples/legacy-pipeline/sub/x.py");
        assert_eq!(Root::of("../up").relative("x.py"), "../up/x.py");
        assert_eq!(Root::of(".").joined("./a/b.py"), "a/b.py");
        let abs = Root::of("/srv/repo");
        assert_eq!(abs.joined("a/b.py"), "/srv/repo/a/b.py");
        assert_eq!(abs.relative("a/b.py"), "a/b.py");
        assert_eq!(Root::of("/").joined("a.py"), "/a.py");
        assert_eq!(rel.joined("/elsewhere/a.py"), "/elsewhere/a.py");
    }
}
