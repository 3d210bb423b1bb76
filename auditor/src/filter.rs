//! The post-filter: what the configuration and the suppression comments do to
//! the findings of a file once the project pass has computed them.
//!
//! In order, for each file:
//! 1. rules that are off (`select` / `ignore`, `per-file-ignores`) are dropped;
//! 2. findings covered by a suppression comment are set aside as suppressed
//!    (kept for the report, with the comment's reason, but not counted or
//!    gated), and each suppression remembers which codes it used;
//! 3. unused suppressions become D2H901 findings, and — with `require-reason`
//!    — suppressions without a reason become D2H902 findings (when those
//!    rules are on for the file);
//! 4. findings less sure than `min-confidence` are dropped, reported or
//!    suppressed (after step 3, so the suppression of a dropped finding is
//!    still used): like a rule that is off, they are neither listed nor gated;
//! 5. `severity` overrides set a rule's severity;
//! 6. findings in `cold-paths` become low.
//!
//! Steps 5 and 6 apply to suppressed findings too: they keep their real severity.
//!
//! Every changed severity says why in its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use d2h_reports::{fingerprint, Finding, SuppressedFinding, Suppression, SuppressionKind};
use d2h_rules::{Confidence, RuleId, Severity};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::suppress::{FileSuppressions, Placed, Scope, Syntax};

/// Path globs, matched like ruff's `exclude`: a glob without `/` matches any
/// component of a path (a directory name excludes everything under it, a file
/// name pattern any file so named); a glob with `/` matches the path relative
/// to the configuration's directory, or any directory above the file.
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    globs: Vec<String>,
    by_component: Option<GlobSet>,
    by_path: Option<GlobSet>,
    /// For each glob of each set, its index in `globs`.
    component_index: Vec<usize>,
    path_index: Vec<usize>,
}

impl Patterns {
    /// Compiles globs; the error names the first invalid one.
    pub fn new(globs: &[String]) -> Result<Patterns, String> {
        let mut by_component = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        let mut component_index = Vec::new();
        let mut path_index = Vec::new();
        for (i, raw) in globs.iter().enumerate() {
            let trimmed = raw.trim().trim_start_matches("./").trim_end_matches('/');
            let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
            if trimmed.is_empty() {
                return Err(format!("invalid glob `{raw}`: empty"));
            }
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("invalid glob `{raw}`: {}", e.kind()))?;
            if trimmed.contains('/') {
                by_path.add(glob);
                path_index.push(i);
            } else {
                by_component.add(glob);
                component_index.push(i);
            }
        }
        let build = |b: GlobSetBuilder, n: usize| {
            if n == 0 {
                Ok(None)
            } else {
                b.build().map(Some).map_err(|e| e.to_string())
            }
        };
        Ok(Patterns {
            globs: globs.to_vec(),
            by_component: build(by_component, component_index.len())?,
            by_path: build(by_path, path_index.len())?,
            component_index,
            path_index,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// The first glob that matches `path` (relative, `/`-separated).
    pub fn matching(&self, path: &str) -> Option<&str> {
        let mut best: Option<usize> = None;
        if let Some(set) = &self.by_component {
            for component in path.split('/').filter(|c| !c.is_empty()) {
                if let Some(&i) = set.matches(component).iter().min() {
                    best = Some(best.map_or(self.component_index[i], |b| b.min(self.component_index[i])));
                }
            }
        }
        if let Some(set) = &self.by_path {
            let mut prefix = path;
            loop {
                if let Some(&i) = set.matches(prefix).iter().min() {
                    best = Some(best.map_or(self.path_index[i], |b| b.min(self.path_index[i])));
                }
                match prefix.rsplit_once('/') {
                    Some((parent, _)) => prefix = parent,
                    None => break,
                }
            }
        }
        best.map(|i| self.globs[i].as_str())
    }

    pub fn matches(&self, path: &str) -> bool {
        self.matching(path).is_some()
    }
}

/// A file's findings after the post-filter: those that report, and those a
/// suppression comment covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filtered {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<SuppressedFinding>,
}

/// The compiled configuration that acts after the project pass (and the
/// exclude globs, which act before it).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory globs are relative to (the configuration file's), canonical.
    /// `None`: globs match report paths (relative to the audited root).
    pub base: Option<PathBuf>,
    /// Rules that report.
    pub enabled: Vec<RuleId>,
    pub severity: BTreeMap<RuleId, Severity>,
    /// Findings less sure than this are dropped.
    pub min_confidence: Confidence,
    pub cold_paths: Patterns,
    pub per_file_ignores: Vec<(Patterns, Vec<RuleId>)>,
    pub exclude: Patterns,
    pub require_reason: bool,
}

impl Default for Settings {
    fn default() -> Self {
        crate::config::Config::default()
            .settings()
            .expect("the default configuration is valid")
    }
}

impl Settings {
    /// A file's path for glob matching: relative to [`Settings::base`] when
    /// the file lies under it, else its report path.
    pub fn glob_path(&self, disk: &Path, display: &str) -> String {
        let Some(base) = &self.base else {
            return display.to_string();
        };
        let absolute = disk
            .canonicalize()
            .or_else(|_| std::path::absolute(disk))
            .unwrap_or_else(|_| disk.to_path_buf());
        match absolute.strip_prefix(base) {
            Ok(relative) => relative.to_string_lossy().replace('\\', "/"),
            Err(_) => display.to_string(),
        }
    }

    pub fn is_excluded(&self, glob_path: &str) -> bool {
        self.exclude.matches(glob_path)
    }

    /// Whether `rule` reports in the file at `glob_path`.
    pub fn is_enabled(&self, rule: RuleId, glob_path: &str) -> bool {
        self.enabled.contains(&rule)
            && !self
                .per_file_ignores
                .iter()
                .any(|(patterns, rules)| rules.contains(&rule) && patterns.matches(glob_path))
    }

    /// Applies the configuration and the file's suppressions to its findings.
    ///
    /// `file` is the file's report path (for findings about its comments),
    /// `glob_path` its path for globs ([`Settings::glob_path`]).
    pub fn apply(
        &self,
        file: &str,
        glob_path: &str,
        findings: Vec<Finding>,
        suppressions: &FileSuppressions,
    ) -> Filtered {
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| self.is_enabled(f.rule, glob_path))
            .collect();
        let mut filtered = if suppressions.is_empty() {
            Filtered {
                findings,
                suppressed: Vec::new(),
            }
        } else {
            self.suppress(file, glob_path, findings, suppressions)
        };
        if self.min_confidence > Confidence::Possible {
            let sure = |f: &Finding| f.confidence >= self.min_confidence;
            filtered.findings.retain(sure);
            filtered.suppressed.retain(|s| sure(&s.finding));
        }
        let suppressed = filtered.suppressed.iter_mut().map(|s| &mut s.finding);
        for finding in filtered.findings.iter_mut().chain(suppressed) {
            if let Some(&severity) = self.severity.get(&finding.rule) {
                if severity != finding.severity {
                    finding.reason = format!(
                        "{severity} by `severity.{}` in the configuration; otherwise {}: {}",
                        finding.rule.code(),
                        finding.severity,
                        finding.reason
                    );
                    finding.severity = severity;
                }
            }
            if finding.severity != Severity::Low {
                if let Some(glob) = self.cold_paths.matching(glob_path) {
                    finding.reason = format!(
                        "in a cold path (`{glob}` in `cold-paths`); otherwise {}: {}",
                        finding.severity, finding.reason
                    );
                    finding.severity = Severity::Low;
                }
            }
        }
        filtered
    }

    fn suppress(
        &self,
        file: &str,
        glob_path: &str,
        findings: Vec<Finding>,
        suppressions: &FileSuppressions,
    ) -> Filtered {
        let directives = &suppressions.directives;
        // Per directive: the rules it suppressed.
        let mut used: Vec<BTreeSet<RuleId>> = vec![BTreeSet::new(); directives.len()];
        let mut kept = Vec::with_capacity(findings.len());
        let mut suppressed = Vec::new();
        for finding in findings {
            let covering = directives.iter().position(|placed| {
                placed.directive.covers(finding.rule)
                    && match placed.directive.scope {
                        Scope::File => true,
                        Scope::Line => placed
                            .covers
                            .iter()
                            .any(|&(first, last)| first <= finding.end_line && finding.line <= last),
                    }
            });
            match covering {
                Some(i) => {
                    used[i].insert(finding.rule);
                    let placed = &directives[i];
                    suppressed.push(SuppressedFinding {
                        finding,
                        suppression: Suppression {
                            kind: SuppressionKind::InSource,
                            justification: placed.directive.reason.clone(),
                            line: placed.line,
                        },
                    });
                }
                None => kept.push(finding),
            }
        }
        let mut occurrences: BTreeMap<(RuleId, String), usize> = BTreeMap::new();
        let mut meta = |rule: RuleId, placed: &Placed, reason: String| {
            let occurrence = occurrences.entry((rule, placed.comment.clone())).or_insert(0);
            let fp = fingerprint(rule, file, "<module>", &placed.comment, *occurrence);
            *occurrence += 1;
            Finding {
                rule,
                name: rule.name().to_string(),
                severity: if rule == RuleId::UnusedSuppression {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                confidence: Confidence::Certain,
                file: file.to_string(),
                line: placed.line,
                column: placed.column,
                end_line: placed.line,
                end_column: placed.column + placed.comment.chars().count() as u32,
                symbol: "<module>".to_string(),
                code: placed.comment.clone(),
                reason,
                fingerprint: fp,
                via: None,
                runtime: None,
            }
        };
        for (placed, used) in directives.iter().zip(&used) {
            let directive = &placed.directive;
            let scope_words = match directive.scope {
                Scope::File => "in this file",
                Scope::Line => "on the lines it covers",
            };
            if self.is_enabled(RuleId::UnusedSuppression, glob_path) {
                let mut unused = Vec::new();
                for code in &directive.codes {
                    match code.rule {
                        None => unused.push(format!("`{}` is not a rule", code.text)),
                        Some(rule) if rule.is_meta() || used.contains(&rule) => {}
                        Some(rule) if self.is_enabled(rule, glob_path) => {
                            unused.push(format!("no {} finding {scope_words}", rule.code()))
                        }
                        Some(_) => {}
                    }
                }
                let bare_unused = directive.codes.is_empty() && used.is_empty() && directive.syntax == Syntax::D2h;
                if bare_unused {
                    unused.push(format!("no finding {scope_words}"));
                }
                if !unused.is_empty() {
                    kept.push(meta(
                        RuleId::UnusedSuppression,
                        placed,
                        format!("unused suppression: {}", unused.join("; ")),
                    ));
                }
            }
            let ours = directive.syntax == Syntax::D2h || !directive.codes.is_empty() || !used.is_empty();
            if self.require_reason
                && directive.reason.is_none()
                && ours
                && self.is_enabled(RuleId::MissingSuppressionReason, glob_path)
            {
                kept.push(meta(
                    RuleId::MissingSuppressionReason,
                    placed,
                    "suppression without a reason (`require-reason` is on): say why the transfer is intended"
                        .to_string(),
                ));
            }
        }
        Filtered {
            findings: kept,
            suppressed,
        }
    }
}

/// Which files an audit reads and which it reports: the exclude globs, and
/// — for an explicit file list resolved in its whole project — the files to
/// report.
#[derive(Debug, Default)]
pub struct AuditScope {
    /// Canonical paths of the files to report; `None`: all.
    only: Option<BTreeSet<PathBuf>>,
    /// Report paths of the files to report (with `only`).
    only_display: BTreeSet<String>,
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

impl AuditScope {
    /// Drops excluded candidates; with `report_only`, adds those files when
    /// the walk skipped them (a `.gitignore`d file named on the command line).
    pub fn new(
        settings: &Settings,
        report_only: Option<&[PathBuf]>,
        root: &Path,
        candidates: &mut Vec<crate::walk::Candidate>,
    ) -> AuditScope {
        let mut scope = AuditScope::default();
        if let Some(files) = report_only {
            let only: BTreeSet<PathBuf> = files.iter().map(|f| canonical(f)).collect();
            let present: BTreeSet<PathBuf> = candidates.iter().map(|c| canonical(&c.path)).collect();
            for (file, canon) in files.iter().zip(files.iter().map(|f| canonical(f))) {
                if !present.contains(&canon) && crate::walk::is_supported(file) {
                    let path = root.join(canon.strip_prefix(canonical(root)).unwrap_or(file));
                    let display = crate::walk::display_path(&path, root);
                    candidates.push(crate::walk::Candidate { path, display });
                }
            }
            candidates.sort();
            candidates.dedup_by(|a, b| a.display == b.display);
            scope.only = Some(only);
        }
        candidates.retain(|c| !settings.is_excluded(&settings.glob_path(&c.path, &c.display)));
        if let Some(only) = &scope.only {
            scope.only_display = candidates
                .iter()
                .filter(|c| only.contains(&canonical(&c.path)))
                .map(|c| c.display.clone())
                .collect();
        }
        scope
    }

    /// Whether the file with this report path is reported.
    pub fn reports(&self, display: &str) -> bool {
        self.only.is_none() || self.only_display.contains(display)
    }

    /// How many of `candidates` are reported.
    pub fn reported_count(&self, candidates: &[crate::walk::Candidate]) -> usize {
        candidates.iter().filter(|c| self.reports(&c.display)).count()
    }
}

impl Settings {
    /// [`Settings::apply`] to one file of the audit: reads its comments for
    /// suppressions (a cheap scan first; only files that mention `d2h:` or
    /// `noqa` are lexed).
    pub fn apply_to_file(&self, display: &str, disk: &Path, findings: Vec<Finding>) -> Filtered {
        let suppressions = match crate::source::read_source(disk) {
            Ok(text) => FileSuppressions::from_comments(&crate::suppress::comments(display, &text)),
            Err(_) => FileSuppressions::default(),
        };
        if findings.is_empty() && suppressions.is_empty() {
            return Filtered::default();
        }
        let glob_path = self.glob_path(disk, display);
        self.apply(display, &glob_path, findings, &suppressions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigKind};
    use crate::suppress::{python_comments, FileSuppressions};

    fn patterns(globs: &[&str]) -> Patterns {
        Patterns::new(&globs.iter().map(|g| g.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn globs_match_components_or_paths() {
        let p = patterns(&["build", "scripts/**", "tools/legacy", "*_debug.py"]);
        assert_eq!(p.matching("build/x.py"), Some("build"));
        assert_eq!(p.matching("pkg/build/x.py"), Some("build"));
        assert_eq!(p.matching("scripts/a/b.py"), Some("scripts/**"));
        assert_eq!(p.matching("tools/legacy/old.py"), Some("tools/legacy"));
        assert_eq!(p.matching("pkg/viz_debug.py"), Some("*_debug.py"));
        assert_eq!(p.matching("pkg/scripts/a.py"), None);
        assert_eq!(p.matching("builder/x.py"), None);
        let star = patterns(&["pkg/*.py"]);
        assert!(star.matches("pkg/a.py"));
        assert!(!star.matches("pkg/sub/a.py"));
        assert!(Patterns::new(&["a/[".to_string()]).is_err());
    }

    fn finding(rule: RuleId, line: u32, severity: Severity) -> Finding {
        Finding {
            rule,
            name: rule.name().to_string(),
            severity,
            confidence: Confidence::Certain,
            file: "m.py".to_string(),
            line,
            column: 5,
            end_line: line,
            end_column: 12,
            symbol: "f".to_string(),
            code: "x.cpu()".to_string(),
            reason: "in `f` (hot root: named `forward`)".to_string(),
            fingerprint: format!("{line:016x}"),
            via: None,
            runtime: None,
        }
    }

    fn settings(text: &str) -> Settings {
        Config::parse(text, ConfigKind::D2hToml, Path::new("d2h.toml"))
            .unwrap()
            .settings()
            .unwrap()
    }

    fn suppressions(src: &str) -> FileSuppressions {
        FileSuppressions::from_comments(&python_comments(src))
    }

    #[test]
    fn severity_overrides_and_cold_paths_say_why() {
        let s = Settings {
            base: None,
            ..settings("cold-paths = [\"scripts\"]\n[severity]\nD2H002 = \"medium\"\n")
        };
        let out = s
            .apply(
                "m.py",
                "m.py",
                vec![finding(RuleId::ScalarRead, 1, Severity::Critical)],
                &FileSuppressions::default(),
            )
            .findings;
        assert_eq!(out[0].severity, Severity::Medium);
        assert!(
            out[0].reason.starts_with("medium by `severity.D2H002`"),
            "{}",
            out[0].reason
        );
        let out = s
            .apply(
                "m.py",
                "scripts/m.py",
                vec![finding(RuleId::ExplicitCopy, 1, Severity::Critical)],
                &FileSuppressions::default(),
            )
            .findings;
        assert_eq!(out[0].severity, Severity::Low);
        assert!(
            out[0].reason.starts_with("in a cold path (`scripts`"),
            "{}",
            out[0].reason
        );
    }

    #[test]
    fn min_confidence_drops_less_sure_findings_and_keeps_their_suppressions_used() {
        let with = |confidence: Confidence, line: u32| Finding {
            confidence,
            ..finding(RuleId::ScalarRead, line, Severity::Critical)
        };
        let all = || {
            vec![
                with(Confidence::Certain, 1),
                with(Confidence::Likely, 2),
                with(Confidence::Possible, 3),
                with(Confidence::Possible, 5),
            ]
        };
        let lines = |f: &Filtered| f.findings.iter().map(|f| f.line).collect::<Vec<_>>();
        let none = FileSuppressions::default();
        // The default keeps every finding.
        let out = settings("").apply("m.py", "m.py", all(), &none);
        assert_eq!(lines(&out), [1, 2, 3, 5]);
        let out = settings("min-confidence = \"likely\"\n").apply("m.py", "m.py", all(), &none);
        assert_eq!(lines(&out), [1, 2]);
        // A suppression of a dropped finding is used: no D2H901.
        let src = "x = 1\nx = 2\nx = 3\nx = 4\ny = 5  # d2h: ignore[D2H002] numpy here\n";
        let out = settings("min-confidence = \"certain\"\n").apply("m.py", "m.py", all(), &suppressions(src));
        assert_eq!(lines(&out), [1]);
        assert!(out.suppressed.is_empty());
    }

    #[test]
    fn suppressed_findings_keep_their_real_severity() {
        let s = Settings {
            base: None,
            ..settings("cold-paths = [\"scripts\"]\n[severity]\nD2H002 = \"medium\"\n")
        };
        let src = "# d2h: ignore[D2H001,D2H002] both deliberate\nx = 1\n";
        let out = s.apply(
            "m.py",
            "scripts/m.py",
            vec![
                finding(RuleId::ExplicitCopy, 2, Severity::Critical),
                finding(RuleId::ScalarRead, 2, Severity::Critical),
            ],
            &suppressions(src),
        );
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        let severities: Vec<Severity> = out.suppressed.iter().map(|s| s.finding.severity).collect();
        assert_eq!(severities, vec![Severity::Low, Severity::Low]);
        let out = s.apply(
            "m.py",
            "m.py",
            vec![finding(RuleId::ScalarRead, 2, Severity::Critical)],
            &suppressions(src),
        );
        assert_eq!(out.suppressed[0].finding.severity, Severity::Medium);
    }

    #[test]
    fn select_ignore_and_per_file_ignores_drop_findings() {
        let s = Settings {
            base: None,
            ..settings("ignore = [\"D2H005\"]\n[per-file-ignores]\n\"tests/**\" = [\"D2H001\"]\n")
        };
        let input = || {
            vec![
                finding(RuleId::ExplicitCopy, 1, Severity::Low),
                finding(RuleId::HostFormat, 2, Severity::Low),
            ]
        };
        let none = FileSuppressions::default();
        assert_eq!(s.apply("m.py", "m.py", input(), &none).findings.len(), 1);
        assert!(s.apply("tests/t.py", "tests/t.py", input(), &none).findings.is_empty());
    }

    #[test]
    fn suppressions_drop_findings_and_report_unused_and_reasonless_ones() {
        let src = "x = 1  # d2h: ignore[D2H001] shown to the user\ny = 2  # d2h: ignore[D2H002]\nz = 3  # noqa: D2H005\n# d2h: ignore[D2H001,D2H999] why\nw = 4\n";
        let s = settings("require-reason = true\n");
        let out = s.apply(
            "m.py",
            "m.py",
            vec![
                finding(RuleId::ExplicitCopy, 1, Severity::Critical),
                finding(RuleId::ExplicitCopy, 3, Severity::Critical),
                finding(RuleId::ExplicitCopy, 5, Severity::Critical),
            ],
            &suppressions(src),
        );
        // The suppressed ones are kept aside, with the comment's reason and line.
        let set_aside: Vec<(u32, Option<&str>, u32)> = out
            .suppressed
            .iter()
            .map(|s| {
                (
                    s.finding.line,
                    s.suppression.justification.as_deref(),
                    s.suppression.line,
                )
            })
            .collect();
        assert_eq!(set_aside, vec![(1, Some("shown to the user"), 1), (5, Some("why"), 4)]);
        assert!(out
            .suppressed
            .iter()
            .all(|s| s.suppression.kind == SuppressionKind::InSource && s.finding.severity == Severity::Critical));
        let out = out.findings;
        let summary: Vec<(RuleId, u32)> = out.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            summary,
            vec![
                (RuleId::ExplicitCopy, 3),
                (RuleId::UnusedSuppression, 2),
                (RuleId::MissingSuppressionReason, 2),
                (RuleId::UnusedSuppression, 3),
                (RuleId::MissingSuppressionReason, 3),
                (RuleId::UnusedSuppression, 4),
            ]
        );
        assert!(out[5].reason.contains("`D2H999` is not a rule"), "{}", out[5].reason);
        assert!(out[1].reason.contains("no D2H002 finding"), "{}", out[1].reason);
        assert_eq!(out[1].severity, Severity::Low);
        assert_eq!(out[2].severity, Severity::Medium);
    }

    #[test]
    fn file_suppressions_and_bare_noqa() {
        let src = "# d2h: ignore-file[D2H005] a debugging script\nx = 1  # noqa\ny = 2  # noqa\n";
        let s = settings("require-reason = true\n");
        let out = s.apply(
            "m.py",
            "m.py",
            vec![
                finding(RuleId::HostFormat, 9, Severity::Critical),
                finding(RuleId::ExplicitCopy, 2, Severity::Critical),
            ],
            &suppressions(src),
        );
        assert_eq!(out.suppressed.len(), 2);
        assert_eq!(
            out.suppressed[0].suppression.justification.as_deref(),
            Some("a debugging script")
        );
        assert_eq!(out.suppressed[1].suppression.justification, None);
        let out = out.findings;
        // The bare noqa on line 2 suppressed a finding without a reason; the one on line 3 is not ours.
        let summary: Vec<(RuleId, u32)> = out.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(summary, vec![(RuleId::MissingSuppressionReason, 2)]);
    }

    #[test]
    fn unused_suppressions_of_rules_that_are_off_are_not_reported() {
        let s = settings("ignore = [\"D2H005\"]\n");
        let out = s.apply(
            "m.py",
            "m.py",
            Vec::new(),
            &suppressions("x = 1  # d2h: ignore[D2H005] why\n"),
        );
        assert_eq!(out, Filtered::default());
        let s = settings("ignore = [\"D2H901\"]\n");
        let out = s.apply(
            "m.py",
            "m.py",
            Vec::new(),
            &suppressions("x = 1  # d2h: ignore[D2H001] why\n"),
        );
        assert_eq!(out, Filtered::default());
    }
}
