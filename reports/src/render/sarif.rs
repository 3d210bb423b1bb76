//! The SARIF renderer: a SARIF 2.1.0 log with one run, as GitHub code
//! scanning (`github/codeql-action/upload-sarif`) and other SARIF viewers take
//! it. The output is deterministic: no timestamps, no machine names.
//!
//! - `tool.driver`: name, version, `informationUri` (the package's `repository`;
//!   omitted while it has none), and one `rules` entry per
//!   rule of the catalog, in code order: `id` (the code), `name`,
//!   `shortDescription` (the summary), `fullDescription` (the page's "What it
//!   does"), `help` (the whole page and the fix hint in every language, as
//!   text and Markdown).
//!   Rules have no severity of their own (a finding's comes from its context),
//!   so every rule's `defaultConfiguration.level` is `warning`.
//! - `results`: one per finding, with `ruleId`, `ruleIndex`, a `level` from
//!   the finding's severity (critical → `error`, medium → `warning`, low →
//!   `note`), the summary, code and reason as `message.text`, the region
//!   (1-based lines and columns, the end column exclusive, as SARIF wants),
//!   the enclosing symbol as a logical location, the call where the hot
//!   path enters the chain to the site (the finding's `via`) as a
//!   `relatedLocations` entry (`id` 1, with a message), `partialFingerprints`
//!   `{"d2h/v1": fingerprint}`, a `rank`, and the d2h severity, confidence
//!   (and runtime counts) in `properties`. SARIF's `rank` (§3.27.24) is the
//!   result's priority, 0.0 to 100.0, higher first: the severity picks a band
//!   (critical 70–90, medium 40–60, low 10–30) and the confidence the place
//!   in it (certain at the top, likely 10 below, possible 20 below), so a
//!   possible critical still outranks a certain medium. `run.columnKind` is `unicodeCodePoints`, which is how d2h
//!   counts columns.
//! - Findings suppressed in the source (a report's `suppressed` list) follow
//!   the others as results with a `suppressions` entry: `kind` `inSource`,
//!   the comment's reason as `justification`, the comment's line as its
//!   `location`. Code scanning shows them as suppressed, not as alerts.
//! - Files that could not be audited are `error` notifications of
//!   `invocations[0].toolExecutionNotifications`; the run itself still
//!   succeeded (`executionSuccessful: true`).
//!
//! Paths: every `artifactLocation` has `uriBaseId` `%SRCROOT%`, the directory
//! d2h ran in (the repository root in CI). A relative report root is joined in
//! front of each file (`d2h audit src` gives `src/predictor.py`) and
//! `%SRCROOT%` stays undefined, as it cannot be known without asking the
//! filesystem. Under an absolute root, URIs are relative to the root and
//! `run.originalUriBaseIds` defines `%SRCROOT%` as the root's `file:` URI.
//! URIs are percent-encoded.

use std::collections::BTreeMap;
use std::io;

use d2h_rules::{Confidence, RuleId, Severity};
use serde::Serialize;

use super::{finding_message, Root};
use crate::{FileError, Finding, Report, RuntimeStats, Suppression, SuppressionKind, Via};

/// The `$schema` of the log: the OASIS SARIF 2.1.0 schema (errata 01).
const SCHEMA_URI: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base every artifact URI is relative to.
const SRCROOT: &str = "%SRCROOT%";

/// The partial fingerprint d2h's fingerprints go under.
const FINGERPRINT_KEY: &str = "d2h/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<BTreeMap<&'static str, BaseUri>>,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

impl Text {
    fn plain(text: impl Into<String>) -> Text {
        Text {
            text: text.into(),
            markdown: None,
        }
    }
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: [&'static str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
struct Notification<'a> {
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    descriptor: Descriptor,
}

#[derive(Serialize)]
struct Descriptor {
    id: &'static str,
}

#[derive(Serialize)]
struct BaseUri {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<RelatedLocation>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
    rank: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression<'a>>,
    properties: ResultProperties<'a>,
}

/// A place the result's message refers to (SARIF §3.27.22): the call where
/// the hot path enters the chain to the site (the finding's `via`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelatedLocation {
    id: u32,
    physical_location: PhysicalLocation,
    message: Text,
}

#[derive(Serialize)]
struct SarifSuppression<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'a str>,
    location: Location<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    logical_locations: Option<[LogicalLocation<'a>; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
    end_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    fully_qualified_name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    severity: Severity,
    confidence: Confidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<&'a RuntimeStats>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    origin: crate::Origin,
    root: &'a str,
}

pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let paths = Paths::new(&report.root);
    let rules: Vec<RuleId> = RuleId::all().collect();
    let information_uri = Some(env!("CARGO_PKG_REPOSITORY")).filter(|uri| !uri.is_empty());
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: &report.tool.name,
                    version: &report.tool.version,
                    information_uri,
                    rules: rules.iter().map(|&id| rule(id)).collect(),
                },
            },
            invocations: [Invocation {
                execution_successful: true,
                tool_execution_notifications: report.errors.iter().map(|e| notification(e, &paths)).collect(),
            }],
            original_uri_base_ids: paths
                .base
                .as_ref()
                .map(|uri| BTreeMap::from([(SRCROOT, BaseUri { uri: uri.clone() })])),
            column_kind: "unicodeCodePoints",
            results: report
                .all_sites()
                .map(|(f, suppression)| result(f, suppression, &rules, &paths))
                .collect(),
            properties: RunProperties {
                origin: report.origin,
                root: &report.root,
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}

fn rule(id: RuleId) -> Rule {
    let rule = id.rule();
    let page = rule.page();
    let what = section(&page, "What it does").unwrap_or_else(|| rule.summary.to_string());
    Rule {
        id: id.code(),
        name: rule.name,
        short_description: Text::plain(rule.summary),
        full_description: Text::plain(what),
        help: help(rule),
        default_configuration: Configuration { level: "warning" },
        properties: RuleProperties { tags: ["performance"] },
    }
}

/// A rule's help: its page, then the fix hint in every language (SARIF's
/// help is per rule, and a run may hold Python and Rust findings alike).
fn help(rule: &d2h_rules::Rule) -> Text {
    let page = rule.page();
    let mut text = page.clone();
    let mut markdown = format!("{page}\n## How to fix\n");
    for (language, hint) in rule.fix.by_language() {
        text.push_str(&format!("\nHow to fix ({language}): {hint}"));
        markdown.push_str(&format!("- {language}: {hint}\n"));
    }
    text.push('\n');
    Text {
        text,
        markdown: Some(markdown),
    }
}

/// The paragraphs under `## {title}` of a rule page, each on one line.
fn section(page: &str, title: &str) -> Option<String> {
    let heading = format!("## {title}");
    let mut lines = page.lines().skip_while(|line| line.trim_end() != heading);
    lines.next()?;
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines.take_while(|line| !line.starts_with("## ")) {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"))
}

/// SARIF's `rank` of a finding: its severity's band, its confidence's place in it.
fn rank(severity: Severity, confidence: Confidence) -> f64 {
    let top = match severity {
        Severity::Critical => 90.0,
        Severity::Medium => 60.0,
        Severity::Low => 30.0,
    };
    let doubt = match confidence {
        Confidence::Certain => 0.0,
        Confidence::Likely => 10.0,
        Confidence::Possible => 20.0,
    };
    top - doubt
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn result<'a>(
    f: &'a Finding,
    suppression: Option<&'a Suppression>,
    rules: &[RuleId],
    paths: &Paths,
) -> SarifResult<'a> {
    let rule_index = rules
        .iter()
        .position(|&id| id == f.rule)
        .expect("every finding's rule is in the catalog");
    SarifResult {
        rule_id: f.rule.code(),
        rule_index,
        level: level(f.severity),
        message: Text::plain(finding_message(f, &paths.root)),
        locations: [Location {
            physical_location: PhysicalLocation {
                artifact_location: paths.artifact(&f.file),
                region: region(f),
            },
            logical_locations: Some([LogicalLocation {
                fully_qualified_name: &f.symbol,
                kind: if f.symbol == "<module>" { "module" } else { "function" },
            }]),
        }],
        related_locations: f.via.as_ref().map(|via| related(via, paths)).into_iter().collect(),
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.as_str())]),
        rank: rank(f.severity, f.confidence),
        suppressions: suppression.map(|s| suppression_of(f, s, paths)).into_iter().collect(),
        properties: ResultProperties {
            severity: f.severity,
            confidence: f.confidence,
            runtime: f.runtime.as_ref(),
        },
    }
}

/// The call where the hot path enters the chain to a site, as a related location.
fn related(via: &Via, paths: &Paths) -> RelatedLocation {
    RelatedLocation {
        id: 1,
        physical_location: PhysicalLocation {
            artifact_location: paths.artifact(&via.file),
            region: (via.line > 0).then_some(Region {
                start_line: via.line,
                start_column: (via.column > 0).then_some(via.column),
                end_line: via.line,
                end_column: None,
            }),
        },
        message: Text::plain(format!("the hot loop calls `{}` here", via.calls)),
    }
}

/// A suppression as SARIF has it: where the comment is, and its reason.
fn suppression_of<'a>(f: &Finding, s: &'a Suppression, paths: &Paths) -> SarifSuppression<'a> {
    let kind = match s.kind {
        SuppressionKind::InSource => "inSource",
    };
    SarifSuppression {
        kind,
        justification: s.justification.as_deref(),
        location: Location {
            physical_location: PhysicalLocation {
                artifact_location: paths.artifact(&f.file),
                region: (s.line > 0).then_some(Region {
                    start_line: s.line,
                    start_column: None,
                    end_line: s.line,
                    end_column: None,
                }),
            },
            logical_locations: None,
        },
    }
}

/// The finding's region; SARIF lines and columns start at 1, so a finding
/// without a line (0) has none, and a column of 0 or an end before the start
/// is left out rather than written wrong.
fn region(f: &Finding) -> Option<Region> {
    if f.line == 0 {
        return None;
    }
    let end_line = f.end_line.max(f.line);
    let start_column = (f.column > 0).then_some(f.column);
    let end_column = start_column
        .filter(|&start| f.end_line > f.line || (f.end_line == f.line && f.end_column >= start))
        .map(|_| f.end_column)
        .filter(|&end| end > 0);
    Some(Region {
        start_line: f.line,
        start_column,
        end_line,
        end_column,
    })
}

fn notification<'a>(e: &FileError, paths: &Paths) -> Notification<'a> {
    Notification {
        level: "error",
        message: Text::plain(format!("d2h could not audit this file: {}", e.message)),
        locations: [Location {
            physical_location: PhysicalLocation {
                artifact_location: paths.artifact(&e.file),
                region: None,
            },
            logical_locations: None,
        }],
        descriptor: Descriptor { id: "file-not-audited" },
    }
}

/// Artifact URIs for one report root.
struct Paths {
    root: Root,
    /// `%SRCROOT%` as a `file:` URI, when the root is absolute.
    base: Option<String>,
}

impl Paths {
    fn new(root: &str) -> Paths {
        let root = Root::of(root);
        let base = match &root {
            Root::Absolute(path) => Some(file_uri(path)),
            Root::Here | Root::Relative(_) => None,
        };
        Paths { root, base }
    }

    fn artifact(&self, file: &str) -> ArtifactLocation {
        let path = self.root.relative(file);
        if path.starts_with('/') || is_drive(&path) {
            // A file outside any root (an absolute path in the report).
            return ArtifactLocation {
                uri: file_uri(&path),
                uri_base_id: None,
            };
        }
        ArtifactLocation {
            uri: encode_path(&path),
            uri_base_id: Some(SRCROOT),
        }
    }
}

fn is_drive(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/'
}

/// `/srv/repo/` → `file:///srv/repo/`, `C:/repo/` → `file:///C:/repo/`,
/// `//host/share/` → `file://host/share/`.
fn file_uri(path: &str) -> String {
    if let Some(unc) = path.strip_prefix("//") {
        return format!("file://{}", encode_path(unc));
    }
    if is_drive(path) {
        return format!("file:///{}{}", &path[..2], encode_path(&path[2..]));
    }
    format!("file://{}", encode_path(path))
}

/// Percent-encodes every byte of a `/`-separated path but unreserved
/// characters and `/`, so that any file name is a valid URI reference (a
/// `:` in the first segment would otherwise read as a scheme).
fn encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(encode_path("a b/ü:x%.py"), "a%20b/%C3%BC%3Ax%25.py");
        assert_eq!(file_uri("/srv/my repo/"), "file:///srv/my%20repo/");
        assert_eq!(file_uri("C:/repo/"), "file:///C:/repo/");
        assert_eq!(file_uri("//host/share/"), "file://host/share/");
    }

    #[test]
    fn rank_orders_by_severity_then_confidence() {
        assert_eq!(rank(Severity::Critical, Confidence::Certain), 90.0);
        assert_eq!(rank(Severity::Medium, Confidence::Likely), 50.0);
        assert_eq!(rank(Severity::Low, Confidence::Possible), 10.0);
        assert!(rank(Severity::Critical, Confidence::Possible) > rank(Severity::Medium, Confidence::Certain));
    }

    #[test]
    fn the_what_it_does_section_is_unwrapped() {
        let page = "## What it does\nFlags a\nthing.\n\nSecond.\n\n## Why is this bad?\nNo.\n";
        assert_eq!(
            section(page, "What it does").as_deref(),
            Some("Flags a thing.\n\nSecond.")
        );
        assert_eq!(section(page, "Missing"), None);
    }
}
