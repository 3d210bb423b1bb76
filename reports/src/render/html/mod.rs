//! The HTML report: one self-contained page (inline style sheet, script and
//! SVG plots; nothing fetched) that opens from disk.
//!
//! A static report (`d2h audit`) gets a summary by severity and rule, its
//! files ranked by critical count, the baseline's new / known / fixed counts
//! when it has one, and every finding with its code frame, reason, the call
//! where the hot path enters the chain to it (`via`), confidence and fix
//! hint, behind filters by severity, rule, file and
//! confidence. A runtime report (`d2h pipeline run`) gets its latency,
//! transfers and bytes per frame by rule, memory (over time when the report
//! has a `timeline`), the driver section when present, and its findings.
//! `d2h compare`'s page is in `crate::compare`, on the same [`page`].
//!
//! The page is a function of the report and the source lines alone: no
//! clock, no environment, no hash order (maps are B-trees), plot coordinates
//! in integer pixels, so it is byte-identical across runs and thread counts.
//! Every piece of text from the report or the sources goes through
//! [`page::Esc`].

pub(crate) mod page;
pub(crate) mod plot;

use std::collections::BTreeMap;
use std::io;

use d2h_rules::{Confidence, RuleId, Severity};

use super::common::{grade, human_bytes, observed_transfers, plural, summary_sentence, Counts};
use crate::{BaselineInfo, DriverStats, Finding, Origin, Report, SourceCache, Suppression, Timeline};
use page::{bar, card, filters, severity_class, Esc, Filter, Page};
use plot::{Level, Line, Stack};

/// Source lines of a site shown in its frame at most (a longer site says where it ends).
const MAX_FRAME_LINES: u32 = 8;

pub(crate) fn render(report: &Report, sources: &SourceCache, out: &mut dyn io::Write) -> io::Result<()> {
    let html = match report.origin {
        Origin::Static => audit_page(report, sources)?,
        Origin::Runtime => runtime_page(report, sources)?,
    };
    out.write_all(html.as_bytes())
}

/// A value with up to two decimals, without trailing zeros (`3`, `2.5`, `0.33`).
pub(crate) fn short_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The `<figure>` around a plot.
pub(crate) fn figure(page: &mut Page, svg: &str, caption: &str) {
    page.push_fmt(format_args!(
        "<figure class=\"plot\" role=\"img\" aria-label=\"{}\">\n{svg}</figure>\n",
        Esc(caption)
    ));
}

fn header(page: &mut Page, what: &str, report: &Report) {
    page.push_fmt(format_args!(
        "<header>\n<h1>{} <code>{}</code></h1>\n<p class=\"sentence\">{}</p>\n<p>{} report written by {} {} ({})</p>\n</header>\n<main>\n",
        Esc(what),
        Esc(&report.root),
        Esc(&summary_sentence(report)),
        match report.origin {
            Origin::Static => "Static",
            Origin::Runtime => "Runtime",
        },
        Esc(&report.tool.name),
        Esc(&report.tool.version),
        Esc(&report.schema),
    ));
}

fn footer(page: &mut Page) {
    page.push("<footer>Rendered by d2h: a self-contained page, nothing is fetched. The filters hide findings in this page only.</footer>\n</main>\n");
}

/// Findings per rule and severity, rules in catalog order.
fn by_rule<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> BTreeMap<RuleId, Counts> {
    let mut rules: BTreeMap<RuleId, Counts> = BTreeMap::new();
    for f in findings {
        rules.entry(f.rule).or_default().add(f.severity);
    }
    rules
}

fn severity_stacks(counts: &[Counts]) -> Vec<Stack<'static>> {
    [
        (Severity::Critical, plot::CRITICAL),
        (Severity::Medium, plot::MEDIUM),
        (Severity::Low, plot::LOW),
    ]
    .into_iter()
    .map(|(severity, color)| Stack {
        label: severity_class(severity),
        color,
        values: counts.iter().map(|c| c.get(severity) as f64).collect(),
    })
    .collect()
}

fn audit_page(report: &Report, sources: &SourceCache) -> io::Result<String> {
    let mut page = Page::new(format!("d2h audit: {}", report.root));
    header(&mut page, "d2h audit of", report);
    let s = &report.summary;
    page.push("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    card(&mut page, "", s.total, "findings");
    for severity in Severity::DESCENDING {
        card(
            &mut page,
            severity_class(severity),
            s.count(severity),
            severity_class(severity),
        );
    }
    card(&mut page, "", s.files_scanned, "files scanned");
    if s.files_with_errors > 0 {
        card(&mut page, "critical", s.files_with_errors, "files not audited");
    }
    if s.suppressed > 0 {
        card(&mut page, "", s.suppressed, "suppressed in the source");
    }
    if let Some(baseline) = &report.baseline {
        card(&mut page, "", baseline.suppressed, "known (in the baseline)");
    }
    page.push("</div>\n</section>\n");

    rules_section(&mut page, report)?;
    files_section(&mut page, report);
    if let Some(baseline) = &report.baseline {
        baseline_section(&mut page, report, baseline);
    }
    findings_section(&mut page, report, sources);
    errors_section(&mut page, report);
    footer(&mut page);
    Ok(page.finish())
}

/// The summary by rule: a plot of each rule's findings by severity and a table.
fn rules_section(page: &mut Page, report: &Report) -> io::Result<()> {
    page.push("<section id=\"rules\">\n<h2>By severity and rule</h2>\n");
    let rules = by_rule(&report.findings);
    if rules.is_empty() {
        page.push("<p class=\"note\">No findings.</p>\n</section>\n");
        return Ok(());
    }
    let categories: Vec<String> = rules.keys().map(|r| r.code().to_string()).collect();
    let counts: Vec<Counts> = rules.values().copied().collect();
    let svg = plot::stacked_bars(
        "Findings by rule and severity",
        &categories,
        &severity_stacks(&counts),
        "findings",
        &|v| format!("{v:.0}"),
    )?;
    page.push("<div class=\"plots\">\n");
    figure(page, &svg, "Findings by rule, stacked by severity");
    page.push("</div>\n<table>\n<thead><tr><th>rule</th><th>name</th><th>what it finds</th><th class=\"num\">critical</th><th class=\"num\">medium</th><th class=\"num\">low</th><th class=\"num\">total</th></tr></thead>\n<tbody>\n");
    for (rule, c) in &rules {
        page.push_fmt(format_args!(
            "<tr><td><button type=\"button\" class=\"file-link\" data-set-rule=\"{code}\" title=\"show only {code}\"><code>{code}</code></button></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            Esc(rule.name()),
            Esc(rule.rule().summary),
            c.critical,
            c.medium,
            c.low,
            c.total(),
            code = rule.code(),
        ));
    }
    page.push("</tbody>\n</table>\n</section>\n");
    Ok(())
}

/// Files ranked by critical count (then medium, low, name), each with a bar.
fn files_section(page: &mut Page, report: &Report) {
    let mut files: BTreeMap<&str, Counts> = BTreeMap::new();
    for f in &report.findings {
        files.entry(f.file.as_str()).or_default().add(f.severity);
    }
    if files.is_empty() {
        return;
    }
    let mut ranked: Vec<(&str, Counts)> = files.into_iter().collect();
    ranked.sort_by(|(a, x), (b, y)| {
        (y.critical, y.medium, y.low)
            .cmp(&(x.critical, x.medium, x.low))
            .then_with(|| a.cmp(b))
    });
    let max = ranked.iter().map(|(_, c)| c.total()).max().unwrap_or(0);
    page.push("<section id=\"files\">\n<h2>Files ranked by critical findings</h2>\n<table>\n<thead><tr><th class=\"num\">#</th><th>file</th><th class=\"num\">critical</th><th class=\"num\">medium</th><th class=\"num\">low</th><th>findings</th></tr></thead>\n<tbody>\n");
    for (rank, (file, c)) in ranked.iter().enumerate() {
        page.push_fmt(format_args!(
            "<tr><td class=\"num\">{}</td><td><button type=\"button\" class=\"file-link\" data-set-file=\"{file}\" title=\"show only this file's findings\">{file}</button></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            rank + 1,
            c.critical,
            c.medium,
            c.low,
            bar(
                &[("critical", c.critical), ("medium", c.medium), ("low", c.low)],
                max
            ),
            file = Esc(file),
        ));
    }
    page.push("</tbody>\n</table>\n</section>\n");
}

/// New findings (the report's), known ones (hidden by the baseline) and fixed entries.
fn baseline_section(page: &mut Page, report: &Report, baseline: &BaselineInfo) {
    let new = report.findings.len();
    let known = baseline.suppressed;
    let fixed = baseline.fixed.len();
    page.push_fmt(format_args!(
        "<section id=\"baseline\">\n<h2>Against the baseline <code>{}</code></h2>\n<div class=\"cards\">\n",
        Esc(&baseline.file)
    ));
    card(page, "critical", new, "new (listed below)");
    card(page, "", known, "known (in the baseline, hidden)");
    card(page, "low", fixed, "fixed (in the baseline, gone)");
    page.push_fmt(format_args!(
        "</div>\n<p>{} {}</p>\n",
        bar(&[("new", new), ("known", known), ("fixed", fixed)], new + known + fixed),
        Esc(&format!(
            "{} of the baseline's {} entries are fixed; {} new.",
            fixed,
            known + fixed,
            plural(new as u64, "finding is", "findings are")
        ))
    ));
    if !baseline.fixed.is_empty() {
        page.push("<h3>Fixed since the baseline</h3>\n<table>\n<thead><tr><th>rule</th><th>file</th><th>symbol</th><th>code</th></tr></thead>\n<tbody>\n");
        for entry in &baseline.fixed {
            page.push_fmt(format_args!(
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>\n",
                entry.rule.code(),
                Esc(&entry.file),
                Esc(&entry.symbol),
                Esc(&entry.code)
            ));
        }
        page.push("</tbody>\n</table>\n");
    }
    page.push("</section>\n");
}

fn findings_section(page: &mut Page, report: &Report, sources: &SourceCache) {
    page.push("<section id=\"findings\">\n<h2>Findings</h2>\n");
    let sites: Vec<(&Finding, Option<&Suppression>)> = report.all_sites().collect();
    if sites.is_empty() {
        page.push("<p class=\"note\">No findings.</p>\n</section>\n");
        return;
    }
    let severities = Severity::DESCENDING
        .iter()
        .map(|s| (severity_class(*s).to_string(), s.to_string()))
        .collect();
    let rules: BTreeMap<RuleId, ()> = sites.iter().map(|(f, _)| (f.rule, ())).collect();
    let rules = rules
        .keys()
        .map(|r| (r.code().to_string(), format!("{} {}", r.code(), r.name())))
        .collect();
    let files: BTreeMap<&str, ()> = sites.iter().map(|(f, _)| (f.file.as_str(), ())).collect();
    let files = files.keys().map(|f| (f.to_string(), f.to_string())).collect();
    let filter = |name, options| Filter {
        name,
        label: name,
        options,
    };
    let mut selects = vec![
        filter("severity", severities),
        filter("rule", rules),
        filter("file", files),
    ];
    match report.origin {
        Origin::Static => selects.push(filter(
            "confidence",
            Confidence::DESCENDING
                .iter()
                .map(|c| (c.to_string(), c.to_string()))
                .collect(),
        )),
        Origin::Runtime => {
            let phases: BTreeMap<&str, ()> = sites
                .iter()
                .filter_map(|(f, _)| f.runtime.as_ref())
                .map(|r| (r.phase.as_str(), ()))
                .collect();
            selects.push(filter(
                "phase",
                phases.keys().map(|p| (p.to_string(), p.to_string())).collect(),
            ));
        }
    }
    if !report.suppressed.is_empty() {
        selects.push(filter(
            "status",
            vec![
                ("reported".into(), "reported".into()),
                ("suppressed".into(), "suppressed in the source".into()),
            ],
        ));
    }
    filters(page, "findings", sites.len(), &selects);
    for (n, (finding, suppression)) in sites.iter().enumerate() {
        finding_article(page, n + 1, finding, *suppression, report.baseline.as_ref(), sources);
    }
    page.push("</section>\n");
}

fn finding_article(
    page: &mut Page,
    n: usize,
    f: &Finding,
    suppression: Option<&Suppression>,
    baseline: Option<&BaselineInfo>,
    sources: &SourceCache,
) {
    let class = severity_class(f.severity);
    let phase = f
        .runtime
        .as_ref()
        .map(|r| format!(" data-phase=\"{}\"", Esc(&r.phase)))
        .unwrap_or_default();
    page.push_fmt(format_args!(
        "<article class=\"finding {class}\" id=\"finding-{n}\" data-item data-severity=\"{class}\" data-rule=\"{}\" data-file=\"{}\" data-confidence=\"{}\" data-status=\"{}\"{phase}>\n",
        f.rule.code(),
        Esc(&f.file),
        f.confidence,
        if suppression.is_some() { "suppressed" } else { "reported" },
    ));
    let mut badges = format!("<span class=\"badge {class}\">{}</span>", Esc(&grade(f)));
    if suppression.is_some() {
        badges.push_str(" <span class=\"badge other\">suppressed</span>");
    } else if baseline.is_some() {
        badges.push_str(" <span class=\"badge new\">new</span>");
    }
    page.push_fmt(format_args!(
        "<h3>{badges} <code>{}</code> {} <span class=\"where\">{}:{}:{} in <code>{}</code></span></h3>\n",
        f.rule.code(),
        Esc(f.rule.rule().summary),
        Esc(&f.file),
        f.line,
        f.column,
        Esc(&f.symbol),
    ));
    let framed = match frame(f, sources) {
        Some(html) => {
            page.push(html);
            true
        }
        None => false,
    };
    page.push("<dl>\n");
    if !framed && !f.code.is_empty() {
        page.push_fmt(format_args!("<dt>code</dt><dd><code>{}</code></dd>\n", Esc(&f.code)));
    }
    if !f.reason.is_empty() {
        page.push_fmt(format_args!("<dt>why {}</dt><dd>{}</dd>\n", f.severity, Esc(&f.reason)));
    }
    if let Some(via) = &f.via {
        page.push_fmt(format_args!(
            "<dt>via</dt><dd><code>{}:{}:{}</code> calls <code>{}</code> (where the hot path enters)</dd>\n",
            Esc(&via.file),
            via.line,
            via.column,
            Esc(&via.calls)
        ));
    }
    page.push_fmt(format_args!("<dt>confidence</dt><dd>{}</dd>\n", f.confidence));
    if let Some(r) = &f.runtime {
        let mut observed = format!(
            "{}× ({}/frame), {} ({} bytes), phase {}",
            r.count,
            short_number(r.per_frame),
            human_bytes(r.bytes as f64),
            r.bytes,
            r.phase
        );
        if r.guarded {
            observed.push_str(", behind a logging guard");
        }
        page.push_fmt(format_args!("<dt>observed</dt><dd>{}</dd>\n", Esc(&observed)));
    }
    if let Some(s) = suppression {
        page.push_fmt(format_args!(
            "<dt>suppressed</dt><dd>line {}{}</dd>\n",
            s.line,
            s.justification
                .as_deref()
                .map(|j| format!(": {}", Esc(j)))
                .unwrap_or_default()
        ));
    }
    page.push_fmt(format_args!(
        "<dt>fix</dt><dd>{}</dd>\n</dl>\n</article>\n",
        Esc(f.rule.rule().fix_for(&f.file))
    ));
}

/// The site's source lines with their numbers, the site marked, one line of
/// context on each side; `None` when the source is missing or no longer
/// matches the finding (its column lies past the end of its line).
fn frame(f: &Finding, sources: &SourceCache) -> Option<String> {
    let first = sources.line(&f.file, f.line)?;
    let start = usize::try_from(f.column).ok()?.checked_sub(1)?;
    if start > first.chars().count() {
        return None;
    }
    let end_line = f.end_line.max(f.line);
    let last = end_line.min(f.line + MAX_FRAME_LINES - 1);
    let mut html = String::from("<pre class=\"frame\"><code>");
    let mut row = |number: u32, text: &str, mark: Option<(usize, usize)>| {
        let text = text.trim_end();
        html.push_str(if mark.is_some() {
            "<span class=\"site\">"
        } else {
            "<span>"
        });
        html.push_str(&format!("<span class=\"ln\">{number}</span>"));
        match mark {
            Some((from, to)) => {
                let chars: Vec<(usize, char)> = text.char_indices().collect();
                let byte = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
                let (from, to) = (byte(from.min(chars.len())), byte(to.min(chars.len()).max(from)));
                html.push_str(&format!(
                    "{}<mark>{}</mark>{}",
                    Esc(&text[..from]),
                    Esc(&text[from..to]),
                    Esc(&text[to..])
                ));
            }
            None => html.push_str(&Esc(text).to_string()),
        }
        html.push_str("</span>\n");
    };
    if f.line > 1 {
        if let Some(before) = sources.line(&f.file, f.line - 1) {
            row(f.line - 1, before, None);
        }
    }
    for number in f.line..=last {
        let Some(text) = sources.line(&f.file, number) else {
            break;
        };
        let from = if number == f.line {
            start
        } else {
            text.chars().take_while(|c| c.is_whitespace()).count()
        };
        let to = if number == f.end_line {
            usize::try_from(f.end_column).ok()?.saturating_sub(1)
        } else {
            text.trim_end().chars().count()
        };
        row(number, text, Some((from, to.max(from + usize::from(number == f.line)))));
    }
    if end_line > last {
        html.push_str(&format!(
            "<span><span class=\"ln\">…</span>(the site continues to line {end_line})</span>\n"
        ));
    } else if let Some(after) = sources.line(&f.file, last + 1) {
        row(last + 1, after, None);
    }
    html.push_str("</code></pre>\n");
    Some(html)
}

fn errors_section(page: &mut Page, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    page.push("<section id=\"errors\">\n<h2>Files that could not be audited</h2>\n<table>\n<thead><tr><th>file</th><th>error</th></tr></thead>\n<tbody>\n");
    for e in &report.errors {
        page.push_fmt(format_args!(
            "<tr><td>{}</td><td>{}</td></tr>\n",
            Esc(&e.file),
            Esc(&e.message)
        ));
    }
    page.push("</tbody>\n</table>\n</section>\n");
}

/// Frame-phase transfers per frame and bytes per frame of one rule, and its
/// totals over all phases.
#[derive(Debug, Clone, Copy, Default)]
struct RuleTransfers {
    sites: usize,
    per_frame: f64,
    bytes_per_frame: f64,
    count: u64,
    bytes: u64,
}

fn runtime_page(report: &Report, sources: &SourceCache) -> io::Result<String> {
    let mut page = Page::new(format!("d2h runtime report: {}", report.root));
    header(&mut page, "d2h runtime report of", report);
    let s = &report.summary;
    page.push("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    card(&mut page, "", s.total, "transfer sites");
    card(&mut page, "", observed_transfers(report), "transfers in total");
    for severity in Severity::DESCENDING {
        card(
            &mut page,
            severity_class(severity),
            s.count(severity),
            severity_class(severity),
        );
    }
    if let Some(latency) = &report.latency {
        card(&mut page, "", latency.frames, "frames measured");
        card(
            &mut page,
            "",
            format!("{} ms", short_number(latency.p50_ms)),
            "latency p50",
        );
        card(
            &mut page,
            "",
            format!("{} ms", short_number(latency.p99_ms)),
            "latency p99",
        );
    }
    page.push("</div>\n</section>\n");

    latency_section(&mut page, report)?;
    transfers_section(&mut page, report)?;
    memory_section(&mut page, report)?;
    if let Some(driver) = &report.driver {
        driver_section(&mut page, driver);
    }
    findings_section(&mut page, report, sources);
    errors_section(&mut page, report);
    footer(&mut page);
    Ok(page.finish())
}

const NO_TIMELINE: &str = "<p class=\"note\">This report has no per-frame timeline (the reports of <code>d2h pipeline run</code> have one): the figures are over the whole run.</p>\n";

fn latency_section(page: &mut Page, report: &Report) -> io::Result<()> {
    let Some(latency) = &report.latency else {
        return Ok(());
    };
    page.push("<section id=\"latency\">\n<h2>Latency per frame</h2>\n");
    page.push_fmt(format_args!(
        "<table>\n<thead><tr><th class=\"num\">frames</th><th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th><th class=\"num\">mean</th></tr></thead>\n<tbody><tr><td class=\"num\">{}</td><td class=\"num\">{:.2} ms</td><td class=\"num\">{:.2} ms</td><td class=\"num\">{:.2} ms</td><td class=\"num\">{:.2} ms</td></tr></tbody>\n</table>\n",
        latency.frames, latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.mean_ms
    ));
    match timeline(report) {
        Some(t) if !t.latency_ms.is_empty() => {
            let svg = plot::over_frames(
                "Latency per frame",
                "ms",
                &[Line {
                    label: "latency",
                    color: plot::ACCENT,
                    values: &t.latency_ms,
                }],
                &[
                    Level {
                        label: format!("p50 {} ms", short_number(latency.p50_ms)),
                        color: plot::LOW,
                        value: latency.p50_ms,
                    },
                    Level {
                        label: format!("p99 {} ms", short_number(latency.p99_ms)),
                        color: plot::CRITICAL,
                        value: latency.p99_ms,
                    },
                ],
                t.warmup,
                &short_number,
            )?;
            page.push("<div class=\"plots\">\n");
            figure(
                page,
                &svg,
                "Latency of each frame, with the p50 and p99 of the measured frames",
            );
            page.push("</div>\n<p class=\"note\">p50 and p99 are over the frames after the warm-up (shaded).</p>\n");
        }
        _ => page.push(NO_TIMELINE),
    }
    page.push("</section>\n");
    Ok(())
}

/// The report's timeline, when it has one.
fn timeline(report: &Report) -> Option<&Timeline> {
    report.timeline.as_ref()
}

fn transfers_section(page: &mut Page, report: &Report) -> io::Result<()> {
    page.push("<section id=\"transfers\">\n<h2>Transfers per frame by rule</h2>\n");
    let mut rules: BTreeMap<RuleId, RuleTransfers> = BTreeMap::new();
    for f in &report.findings {
        let Some(r) = &f.runtime else { continue };
        let entry = rules.entry(f.rule).or_default();
        entry.sites += 1;
        entry.count += r.count;
        entry.bytes += r.bytes;
        if r.phase == "frame" && r.count > 0 {
            entry.per_frame += r.per_frame;
            entry.bytes_per_frame += r.bytes as f64 * r.per_frame / r.count as f64;
        }
    }
    if rules.is_empty() {
        page.push("<p class=\"note\">No transfers observed.</p>\n</section>\n");
        return Ok(());
    }
    let categories: Vec<String> = rules.keys().map(|r| r.code().to_string()).collect();
    let per_frame = plot::stacked_bars(
        "Transfers per frame (frame phase)",
        &categories,
        &[Stack {
            label: "transfers per frame",
            color: plot::ACCENT,
            values: rules.values().map(|r| r.per_frame).collect(),
        }],
        "transfers / frame",
        &short_number,
    )?;
    // Bytes on an axis of round numbers of the unit that fits the largest value.
    let most = rules.values().map(|r| r.bytes_per_frame).fold(0.0, f64::max);
    let (unit, scale) = match most {
        m if m >= 1024.0 * 1024.0 => ("MiB / frame", 1024.0 * 1024.0),
        m if m >= 1024.0 => ("KiB / frame", 1024.0),
        _ => ("bytes / frame", 1.0),
    };
    let bytes = plot::stacked_bars(
        "Bytes per frame (frame phase)",
        &categories,
        &[Stack {
            label: "bytes per frame",
            color: plot::PURPLE,
            values: rules.values().map(|r| r.bytes_per_frame / scale).collect(),
        }],
        unit,
        &short_number,
    )?;
    page.push("<div class=\"plots\">\n");
    figure(page, &per_frame, "Transfers per frame by rule");
    figure(page, &bytes, "Bytes per frame by rule");
    if let Some(t) = timeline(report).filter(|t| !t.reads.is_empty()) {
        let reads: Vec<f64> = t.reads.iter().map(|r| *r as f64).collect();
        let svg = plot::over_frames(
            "Device-to-host reads in each frame",
            "reads",
            &[Line {
                label: "D2H001 + D2H002 reads",
                color: plot::CRITICAL,
                values: &reads,
            }],
            &[],
            t.warmup,
            &short_number,
        )?;
        figure(page, &svg, "Device-to-host reads the gate recorded in each frame");
    }
    page.push("</div>\n<table>\n<thead><tr><th>rule</th><th>name</th><th class=\"num\">sites</th><th class=\"num\">per frame</th><th class=\"num\">bytes per frame</th><th class=\"num\">transfers (all phases)</th><th class=\"num\">bytes (all phases)</th></tr></thead>\n<tbody>\n");
    for (rule, r) in &rules {
        page.push_fmt(format_args!(
            "<tr><td><button type=\"button\" class=\"file-link\" data-set-rule=\"{code}\"><code>{code}</code></button></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            Esc(rule.name()),
            r.sites,
            r.per_frame,
            human_bytes(r.bytes_per_frame),
            r.count,
            human_bytes(r.bytes as f64),
            code = rule.code(),
        ));
    }
    page.push("</tbody>\n</table>\n</section>\n");
    Ok(())
}

fn memory_section(page: &mut Page, report: &Report) -> io::Result<()> {
    let device = timeline(report).filter(|t| !t.device_bytes.is_empty());
    if report.memory.is_none() && device.is_none() {
        return Ok(());
    }
    page.push("<section id=\"memory\">\n<h2>Memory</h2>\n");
    if let Some(m) = &report.memory {
        page.push_fmt(format_args!(
            "<table>\n<tbody>\n<tr><th>host allocations per frame</th><td class=\"num\">{:.1}</td></tr>\n<tr><th>host bytes allocated per frame</th><td class=\"num\">{}</td></tr>\n<tr><th>large host buffers in frames</th><td class=\"num\">{}</td></tr>\n<tr><th>device memory peak</th><td class=\"num\">{}</td></tr>\n<tr><th>device memory growth after the warm-up</th><td class=\"num\">{}</td></tr>\n</tbody>\n</table>\n",
            m.host_allocations_per_frame,
            human_bytes(m.host_bytes_per_frame),
            m.large_host_buffers_in_frames,
            human_bytes(m.device_peak_bytes as f64),
            human_bytes(m.device_growth_bytes as f64),
        ));
    }
    match device {
        Some(t) => {
            let mib: Vec<f64> = t.device_bytes.iter().map(|b| *b as f64 / (1024.0 * 1024.0)).collect();
            let svg = plot::over_frames(
                "Device memory in use after each frame",
                "MiB",
                &[Line {
                    label: "device memory",
                    color: plot::ACCENT,
                    values: &mib,
                }],
                &[],
                t.warmup,
                &short_number,
            )?;
            page.push("<div class=\"plots\">\n");
            figure(page, &svg, "Device memory in use after each frame");
            page.push("</div>\n<p class=\"note\">The driver's figure on CUDA; on the CPU device, the live host bytes (its tensors are host buffers).</p>\n");
        }
        None => page.push(NO_TIMELINE),
    }
    page.push("</section>\n");
    Ok(())
}

fn driver_section(page: &mut Page, d: &DriverStats) {
    page.push_fmt(format_args!(
        "<section id=\"driver\">\n<h2>What the CUDA driver saw (CUPTI, {} frames)</h2>\n<p class=\"sentence\">{}</p>\n<table>\n<tbody>\n",
        d.frames,
        if d.agrees_with_gate {
            "The driver's device-to-host calls and copies equal the gate's reads in every frame."
        } else {
            "The driver's device-to-host counts DIFFER from the gate's reads."
        }
    ));
    let rows: [(&str, String); 13] = [
        ("gate reads per frame", format!("{:.2}", d.gate_reads_per_frame)),
        ("cuMemcpyDtoH calls per frame", format!("{:.2}", d.dtoh_calls_per_frame)),
        (
            "device-to-host copies per frame",
            format!("{:.2}", d.dtoh_copies_per_frame),
        ),
        ("device-to-host bytes per frame", human_bytes(d.dtoh_bytes_per_frame)),
        (
            "host-to-device copies per frame",
            format!("{:.2}", d.htod_copies_per_frame),
        ),
        ("host-to-device bytes per frame", human_bytes(d.htod_bytes_per_frame)),
        (
            "host-to-device copies per frame after the warm-up",
            format!(
                "{:.2} ({})",
                d.htod_copies_after_warmup_per_frame,
                human_bytes(d.htod_bytes_after_warmup_per_frame)
            ),
        ),
        (
            "copies of unknown direction per frame",
            format!("{:.2}", d.unclassified_copies_per_frame),
        ),
        ("host-blocking syncs per frame", format!("{:.2}", d.syncs_per_frame)),
        ("kernels per frame", format!("{:.1}", d.kernels_per_frame)),
        ("kernel time per frame", format!("{:.2} ms", d.kernel_ms_per_frame)),
        ("GPU busy", format!("{:.0}% of the frame", d.busy_fraction * 100.0)),
        (
            "agrees with the gate",
            if d.agrees_with_gate { "yes" } else { "no" }.to_string(),
        ),
    ];
    for (label, value) in rows {
        page.push_fmt(format_args!(
            "<tr><th>{label}</th><td class=\"num\">{}</td></tr>\n",
            Esc(&value)
        ));
    }
    page.push("</tbody>\n</table>\n");
    if !d.top_kernels.is_empty() {
        page.push(
            "<h3>Kernels with the most GPU time after the warm-up</h3>\n<table>\n<thead><tr><th>kernel</th><th>ms per frame</th><th>share</th><th>launches per frame</th></tr></thead>\n<tbody>\n",
        );
        for k in &d.top_kernels {
            page.push_fmt(format_args!(
                "<tr><td><code>{}</code></td><td class=\"num\">{:.3}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}</td></tr>\n",
                Esc(&k.name),
                k.ms_per_frame,
                k.share * 100.0,
                k.launches_per_frame
            ));
        }
        page.push("</tbody>\n</table>\n");
    }
    page.push("</section>\n");
}
