//! The comparison as a self-contained HTML page (see `crate::render::html`):
//! confirmed / static-only / runtime-only per rule (a plot and a table) and
//! per file, every disagreement (severities that differ, runtime-only
//! sites), and every site behind filters by kind, rule and file.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use d2h_rules::RuleId;

use super::{Comparison, Confirmed, OneSided};
use crate::render::html::page::{bar, card, filters, severity_class, Esc, Filter, Page};
use crate::render::html::plot::{self, Stack};
use crate::render::html::{figure, short_number};
use crate::Suppression;

/// Sites of one rule or file in each view.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    confirmed: usize,
    static_only: usize,
    runtime_only: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.confirmed + self.static_only + self.runtime_only
    }

    fn segments(&self) -> [(&'static str, usize); 3] {
        [
            ("confirmed", self.confirmed),
            ("static-only", self.static_only),
            ("runtime-only", self.runtime_only),
        ]
    }
}

fn tallies<K: Ord>(c: &Comparison, key: impl Fn(RuleId, &str) -> K) -> BTreeMap<K, Tally> {
    let mut map: BTreeMap<K, Tally> = BTreeMap::new();
    for s in &c.confirmed {
        map.entry(key(s.rule, &s.file)).or_default().confirmed += 1;
    }
    for s in &c.static_only {
        map.entry(key(s.rule, &s.file)).or_default().static_only += 1;
    }
    for s in &c.runtime_only {
        map.entry(key(s.rule, &s.file)).or_default().runtime_only += 1;
    }
    map
}

/// Each path of the comparison, and the one the page shows for it: the
/// shortest path of the comparison that names the same file. (A confirmed
/// site keeps the longer of its two reports' paths, so one file can be spelt
/// `/srv/repo/pipeline/src/a.rs` by its confirmed sites and
/// `pipeline/src/a.rs` by its static-only ones; the page counts it once.)
/// A path under the runtime report's root when that root is absolute (the
/// binary's own checkout) is shown relative to it, as that report wrote it.
fn display_paths(c: &Comparison) -> BTreeMap<&str, &str> {
    let runtime_root = format!("{}/", super::normalise_path("", &c.runtime_root));
    let paths: BTreeSet<&str> = c
        .confirmed
        .iter()
        .map(|s| s.file.as_str())
        .chain(c.static_only.iter().map(|s| s.file.as_str()))
        .chain(c.runtime_only.iter().map(|s| s.file.as_str()))
        .collect();
    paths
        .iter()
        .map(|p| {
            let shortest = paths
                .iter()
                .filter(|q| super::same_file(p, q))
                .min_by_key(|q| (q.len(), **q))
                .unwrap_or(p);
            let relative = shortest
                .strip_prefix(runtime_root.as_str())
                .filter(|rest| !rest.is_empty() && runtime_root.starts_with('/') && runtime_root != "/");
            (*p, relative.unwrap_or(shortest))
        })
        .collect()
}

fn suppression_note(suppression: Option<&Suppression>) -> String {
    match suppression {
        Some(s) => format!(
            " <span class=\"badge other\" title=\"{}\">suppressed</span>",
            Esc(s.justification.as_deref().unwrap_or("suppressed in the source"))
        ),
        None => String::new(),
    }
}

fn severity_badge(severity: d2h_rules::Severity) -> String {
    let class = severity_class(severity);
    format!("<span class=\"badge {class}\">{class}</span>")
}

pub(super) fn render(c: &Comparison, out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = Page::new(format!("d2h compare: {} vs {}", c.static_root, c.runtime_root));
    let disagreements: Vec<&Confirmed> = c.disagreements().collect();
    page.push_fmt(format_args!(
        "<header>\n<h1>d2h compare: <code>{}</code> (static) vs <code>{}</code> (runtime)</h1>\n<p class=\"sentence\">{} confirmed ({} with different severities), {} static-only (not executed in this run), {} runtime-only (missed by the static audit).</p>\n<p>{} comparison</p>\n</header>\n<main>\n",
        Esc(&c.static_root),
        Esc(&c.runtime_root),
        c.confirmed.len(),
        disagreements.len(),
        c.static_only.len(),
        c.runtime_only.len(),
        Esc(&c.schema),
    ));
    page.push("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    card(&mut page, "low", c.confirmed.len(), "confirmed");
    card(&mut page, "medium", disagreements.len(), "severity disagreements");
    card(
        &mut page,
        "",
        c.suppressed().count(),
        "confirmed, suppressed in the source",
    );
    card(&mut page, "medium", c.static_only.len(), "static-only");
    card(&mut page, "critical", c.runtime_only.len(), "runtime-only (missed)");
    page.push("</div>\n</section>\n");

    let rules = tallies(c, |rule, _| rule);
    page.push("<section id=\"rules\">\n<h2>Per rule</h2>\n");
    if rules.is_empty() {
        page.push("<p class=\"note\">Neither report has a site.</p>\n");
    } else {
        let categories: Vec<String> = rules.keys().map(|r| r.code().to_string()).collect();
        let stacks = [
            Stack {
                label: "confirmed",
                color: plot::LOW,
                values: rules.values().map(|t| t.confirmed as f64).collect(),
            },
            Stack {
                label: "static-only",
                color: plot::MEDIUM,
                values: rules.values().map(|t| t.static_only as f64).collect(),
            },
            Stack {
                label: "runtime-only",
                color: plot::CRITICAL,
                values: rules.values().map(|t| t.runtime_only as f64).collect(),
            },
        ];
        let svg = plot::stacked_bars("Sites by rule and view", &categories, &stacks, "sites", &|v| {
            format!("{v:.0}")
        })?;
        page.push("<div class=\"plots\">\n");
        figure(
            &mut page,
            &svg,
            "Sites per rule: confirmed, static-only and runtime-only",
        );
        page.push("</div>\n");
        tally_table(&mut page, "rule", rules.iter().map(|(rule, t)| {
            (
                format!(
                    "<button type=\"button\" class=\"file-link\" data-set-rule=\"{code}\"><code>{code}</code></button> {}",
                    Esc(rule.name()),
                    code = rule.code()
                ),
                *t,
            )
        }));
    }
    page.push("</section>\n");

    let paths = display_paths(c);
    let shown = |file: &str| paths.get(file).copied().unwrap_or(file).to_string();
    let files = tallies(c, |_, file| shown(file));
    if !files.is_empty() {
        page.push("<section id=\"files\">\n<h2>Per file</h2>\n");
        let mut ranked: Vec<(&String, &Tally)> = files.iter().collect();
        ranked.sort_by(|(a, x), (b, y)| {
            (y.runtime_only, y.confirmed, y.total())
                .cmp(&(x.runtime_only, x.confirmed, x.total()))
                .then_with(|| a.cmp(b))
        });
        tally_table(
            &mut page,
            "file",
            ranked.into_iter().map(|(file, t)| {
                (
                    format!(
                        "<button type=\"button\" class=\"file-link\" data-set-file=\"{0}\">{0}</button>",
                        Esc(file)
                    ),
                    *t,
                )
            }),
        );
        page.push("</section>\n");
    }

    page.push("<section id=\"disagreements\">\n<h2>Disagreements</h2>\n");
    if disagreements.is_empty() && c.runtime_only.is_empty() {
        page.push("<p class=\"note\">None: every runtime site was found statically, with the same severity.</p>\n");
    }
    if !disagreements.is_empty() {
        page.push("<h3>Confirmed sites whose severities differ</h3>\n<table>\n<thead><tr><th>site</th><th>rule</th><th>static</th><th>why (static)</th><th>runtime</th><th>why (runtime)</th><th class=\"num\">per frame</th></tr></thead>\n<tbody>\n");
        for s in &disagreements {
            page.push_fmt(format_args!(
                "<tr><td>{}:{}{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
                Esc(&shown(&s.file)),
                s.line,
                suppression_note(s.suppression.as_ref()),
                s.rule.code(),
                severity_badge(s.static_severity),
                Esc(&s.static_reason),
                severity_badge(s.runtime_severity),
                Esc(&s.runtime_reason),
                short_number(s.per_frame),
            ));
        }
        page.push("</tbody>\n</table>\n");
    }
    if !c.runtime_only.is_empty() {
        page.push("<h3>Runtime-only: observed, missed by the static audit</h3>\n");
        one_sided_table(&mut page, &c.runtime_only, "runtime-only", false, &shown);
    }
    page.push("</section>\n");

    page.push("<section id=\"sites\">\n<h2>All sites</h2>\n");
    let total = c.confirmed.len() + c.static_only.len() + c.runtime_only.len();
    if total == 0 {
        page.push("<p class=\"note\">No sites.</p>\n");
    } else {
        let kinds = [
            ("confirmed", "confirmed, same severity"),
            ("disagreement", "confirmed, severities differ"),
            ("static-only", "static-only"),
            ("runtime-only", "runtime-only"),
        ];
        let kinds = kinds
            .iter()
            .map(|(value, label)| (value.to_string(), label.to_string()))
            .collect();
        let rule_options = rules
            .keys()
            .map(|r| (r.code().to_string(), format!("{} {}", r.code(), r.name())))
            .collect();
        let file_options = files.keys().map(|f| (f.clone(), f.clone())).collect();
        filters(
            &mut page,
            "sites",
            total,
            &[
                Filter {
                    name: "kind",
                    label: "kind",
                    options: kinds,
                },
                Filter {
                    name: "rule",
                    label: "rule",
                    options: rule_options,
                },
                Filter {
                    name: "file",
                    label: "file",
                    options: file_options,
                },
            ],
        );
        page.push("<h3>Confirmed</h3>\n<table>\n<thead><tr><th>site</th><th>rule</th><th>static</th><th>runtime</th><th class=\"num\">count</th><th class=\"num\">per frame</th><th class=\"num\">bytes</th></tr></thead>\n<tbody>\n");
        for s in &c.confirmed {
            page.push_fmt(format_args!(
                "<tr data-item data-kind=\"{}\" data-rule=\"{}\" data-file=\"{}\"><td>{}:{}{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                if s.agrees() { "confirmed" } else { "disagreement" },
                s.rule.code(),
                Esc(&shown(&s.file)),
                Esc(&shown(&s.file)),
                s.line,
                suppression_note(s.suppression.as_ref()),
                s.rule.code(),
                severity_badge(s.static_severity),
                severity_badge(s.runtime_severity),
                s.count,
                short_number(s.per_frame),
                s.bytes,
            ));
        }
        page.push("</tbody>\n</table>\n<h3>Static-only (not executed in this run)</h3>\n");
        one_sided_table(&mut page, &c.static_only, "static-only", true, &shown);
        page.push("<h3>Runtime-only</h3>\n");
        one_sided_table(&mut page, &c.runtime_only, "runtime-only", true, &shown);
    }
    page.push("</section>\n<footer>Rendered by d2h: a self-contained page, nothing is fetched. The filters hide sites in the “All sites” tables only.</footer>\n</main>\n");
    out.write_all(page.finish().as_bytes())
}

/// One row per rule or file: its label (markup) and its tally, with a bar.
fn tally_table(page: &mut Page, what: &str, rows: impl Iterator<Item = (String, Tally)>) {
    let rows: Vec<(String, Tally)> = rows.collect();
    let max = rows.iter().map(|(_, t)| t.total()).max().unwrap_or(0);
    page.push_fmt(format_args!(
        "<table>\n<thead><tr><th>{what}</th><th class=\"num\">confirmed</th><th class=\"num\">static-only</th><th class=\"num\">runtime-only</th><th>sites</th></tr></thead>\n<tbody>\n"
    ));
    for (label, t) in &rows {
        page.push_fmt(format_args!(
            "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            t.confirmed,
            t.static_only,
            t.runtime_only,
            bar(&t.segments(), max)
        ));
    }
    page.push("</tbody>\n</table>\n");
}

/// Sites of one view; `filterable` rows take part in the filters.
fn one_sided_table(page: &mut Page, sites: &[OneSided], kind: &str, filterable: bool, shown: &dyn Fn(&str) -> String) {
    if sites.is_empty() {
        page.push("<p class=\"note\">None.</p>\n");
        return;
    }
    page.push("<table>\n<thead><tr><th>site</th><th>rule</th><th>severity</th><th>code</th><th>why</th></tr></thead>\n<tbody>\n");
    for s in sites {
        let item = if filterable {
            format!(
                " data-item data-kind=\"{kind}\" data-rule=\"{}\" data-file=\"{}\"",
                s.rule.code(),
                Esc(&shown(&s.file))
            )
        } else {
            String::new()
        };
        page.push_fmt(format_args!(
            "<tr{item}><td>{}:{}{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
            Esc(&shown(&s.file)),
            s.line,
            suppression_note(s.suppression.as_ref()),
            s.rule.code(),
            severity_badge(s.severity),
            Esc(&s.code),
            Esc(&s.reason),
        ));
    }
    page.push("</tbody>\n</table>\n");
}
