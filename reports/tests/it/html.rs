//! The HTML renderer (`--format html`) and the HTML comparison: their
//! structure as snapshots (an outline of headings, sections, plots, filters
//! and tables, not the bytes of the plots), and the properties a snapshot
//! cannot promise: determinism, escaping, a page that fetches nothing, and
//! filter attributes that agree with the findings.

use std::collections::BTreeSet;

use d2h_reports::compare::{compare, render as render_comparison, CompareFormat, Comparison};
use d2h_reports::{
    render, BaselineEntry, BaselineInfo, DriverStats, Format, KernelShare, Origin, RenderOptions, Report, SourceCache,
    Timeline,
};
use d2h_rules::{RuleId, Severity};

use crate::fixture::*;

fn html(report: &Report, sources: &SourceCache) -> String {
    let mut out = Vec::new();
    render(report, Format::Html, RenderOptions::default(), sources, &mut out).expect("writing to a Vec never fails");
    String::from_utf8(out).expect("the HTML renderer writes UTF-8")
}

fn compare_html(c: &Comparison) -> String {
    let mut out = Vec::new();
    render_comparison(c, CompareFormat::Html, &mut out).expect("writing to a Vec never fails");
    String::from_utf8(out).expect("the HTML renderer writes UTF-8")
}

/// The runtime fixture as `d2h pipeline run` writes it: a timeline of 40
/// frames (5 of warm-up, a spike at frame 30) and a driver section.
fn runtime_with_timeline() -> Report {
    let mut report = runtime_report();
    let frames = 40;
    report.timeline = Some(Timeline {
        warmup: 5,
        latency_ms: (0..frames)
            .map(|i| if i == 29 { 41.0 } else { 12.0 + (i % 7) as f64 * 0.75 })
            .collect(),
        device_bytes: (0..frames).map(|i| (512 + i * 3) * 1024 * 1024).collect(),
        reads: (0..frames).map(|i| 4 + i % 2).collect(),
    });
    report.driver = Some(DriverStats {
        frames: 35,
        gate_reads_per_frame: 4.0,
        dtoh_calls_per_frame: 4.0,
        dtoh_copies_per_frame: 4.0,
        dtoh_bytes_per_frame: 196_608.0,
        htod_copies_per_frame: 2.0,
        htod_bytes_per_frame: 1024.0,
        unclassified_copies_per_frame: 0.0,
        syncs_per_frame: 1.0,
        kernels_per_frame: 212.0,
        kernel_ms_per_frame: 9.5,
        busy_fraction: 0.71,
        agrees_with_gate: true,
        htod_copies_after_warmup_per_frame: 0.0,
        htod_bytes_after_warmup_per_frame: 0.0,
        top_kernels: vec![KernelShare {
            name: "bmul_<f32>".into(),
            launches_per_frame: 40.0,
            ms_per_frame: 2.375,
            share: 0.25,
        }],
    });
    report
}

/// The fixtures compared, plus a runtime site the static audit does not have.
fn comparison() -> Comparison {
    let mut runtime = runtime_report();
    let mut missed = runtime.findings[0].clone();
    missed.file = "tracker/extra.py".to_string();
    missed.line = 5;
    missed.rule = RuleId::ExplicitSync;
    runtime.findings.push(missed);
    let runtime = Report::new(Origin::Runtime, ROOT, runtime.findings, Vec::new(), 0);
    compare(&static_report(), &runtime).expect("a static and a runtime report")
}

/// Text between `open` and the next `close` after `from`, tags removed.
fn text_between(html: &str, from: usize, close: &str) -> String {
    let end = html[from..].find(close).map_or(html.len(), |i| from + i);
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[from..end].chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of attribute `name` in the tag that starts at `from`.
fn attribute(html: &str, from: usize, name: &str) -> Option<String> {
    let tag = &html[from..from + html[from..].find('>')?];
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(tag[start..start + tag[start..].find('"')?].to_string())
}

/// The page's structure: headings, sections, plots (with their legends),
/// filters (with their options), tables (with their row counts) and filterable
/// items (with their attributes), in document order.
fn outline(html: &str) -> String {
    let mut lines = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find('<') {
        let start = at + i;
        at = start + 1;
        let name: String = html[at..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        match name.as_str() {
            "h1" | "h2" | "h3" => {
                let body = start + html[start..].find('>').unwrap() + 1;
                lines.push(format!("{name}: {}", text_between(html, body, &format!("</{name}>"))));
            }
            "section" => lines.push(format!("section #{}", attribute(html, start, "id").unwrap_or_default())),
            "figure" => {
                // The plot's figure and its SVG's size (the drawing itself is
                // plotters': its ticks are not the page's structure).
                let svg = start + html[start..].find("<svg").unwrap();
                lines.push(format!(
                    "  plot \"{}\": svg {}x{}",
                    attribute(html, start, "aria-label").unwrap_or_default(),
                    attribute(html, svg, "width").unwrap_or_default(),
                    attribute(html, svg, "height").unwrap_or_default(),
                ));
            }
            "select" => {
                let end = start + html[start..].find("</select>").unwrap();
                let options = html[start..end].matches("<option").count();
                lines.push(format!(
                    "  filter {}: {} options",
                    attribute(html, start, "name").unwrap_or_default(),
                    options
                ));
            }
            "table" => {
                let end = start + html[start..].find("</table>").unwrap();
                let rows = html[start..end].matches("<tr").count();
                lines.push(format!("  table: {rows} rows"));
            }
            "article" => {
                let attrs: Vec<String> = ["severity", "rule", "file", "confidence", "phase", "status"]
                    .iter()
                    .filter_map(|a| attribute(html, start, &format!("data-{a}")).map(|v| format!("{a}={v}")))
                    .collect();
                let has_frame = {
                    let end = start + html[start..].find("</article>").unwrap();
                    html[start..end].contains("<pre class=\"frame\">")
                };
                lines.push(format!(
                    "  finding {}{}",
                    attrs.join(" "),
                    if has_frame { " +frame" } else { "" }
                ));
            }
            _ => {}
        }
    }
    lines.join("\n")
}

#[test]
fn snapshot_audit_page_structure() {
    insta::assert_snapshot!("html_audit_outline", outline(&html(&static_report(), &sources())));
}

#[test]
fn snapshot_runtime_page_structure() {
    insta::assert_snapshot!(
        "html_runtime_outline",
        outline(&html(&runtime_with_timeline(), &sources()))
    );
}

#[test]
fn snapshot_compare_page_structure() {
    insta::assert_snapshot!("html_compare_outline", outline(&compare_html(&comparison())));
}

#[test]
fn pages_are_byte_identical_when_rendered_again() {
    let pages = || {
        [
            html(&static_report(), &sources()),
            html(&suppressed_report(), &sources()),
            html(&runtime_with_timeline(), &sources()),
            html(&empty_report(), &sources()),
            compare_html(&comparison()),
        ]
    };
    let first = pages();
    assert_eq!(first, pages());
    // And they are not all the same page.
    let distinct: BTreeSet<&String> = first.iter().collect();
    assert_eq!(distinct.len(), first.len());
}

/// Everything a page needs is in it: no element that loads a resource, no URL
/// but the SVG namespace, and a policy that forbids fetching anything.
fn assert_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>\n"), "{}", &page[..100]);
    assert!(page.ends_with("</html>\n"));
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\""));
    for banned in [" src=", "<link", "@import", "url(", "<iframe", "<object", "<embed"] {
        assert!(!page.contains(banned), "the page holds `{banned}`");
    }
    let urls = page.matches("http").count();
    let namespaces = page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(
        urls,
        namespaces + 1,
        "a URL other than the SVG namespace (and the CSP's http-equiv)"
    );
}

#[test]
fn pages_fetch_nothing() {
    assert_self_contained(&html(&static_report(), &sources()));
    assert_self_contained(&html(&runtime_with_timeline(), &sources()));
    assert_self_contained(&html(&empty_report(), &sources()));
    assert_self_contained(&compare_html(&comparison()));
}

const PAYLOAD: &str = "</script><img src=x onerror=alert(1)><marquee title=\"x\" onclick='y'>";

#[test]
fn source_text_renders_inert() {
    let mut report = static_report();
    let sources = {
        let mut sources = sources();
        sources.insert("evil.py", format!("x = 1\ny = f(\"{PAYLOAD}\").cpu()\n").into());
        sources
    };
    let mut f = report.findings[0].clone();
    f.file = "evil.py".to_string();
    f.line = 2;
    f.column = 5;
    f.end_line = 2;
    f.end_column = 20;
    f.symbol = format!("sym{PAYLOAD}");
    f.code = format!("f(\"{PAYLOAD}\").cpu()");
    f.reason = format!("why{PAYLOAD}");
    report.findings.push(f);
    report.errors[0].message = format!("bad{PAYLOAD}");
    let page = html(&report, &sources);
    // The one `</script>` and the one `<script>` are the page's own.
    assert_eq!(page.matches("</script>").count(), 1);
    assert_eq!(page.matches("<script").count(), 1);
    assert!(!page.contains("<img"));
    assert!(!page.contains("<marquee"));
    assert!(!page.contains("onerror=alert(1)>"));
    assert!(page.contains(
        "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;marquee title=&quot;x&quot; onclick=&#39;y&#39;&gt;"
    ));
    // The source line in the frame, the symbol, the reason, the file error's message.
    assert!(page.contains("sym&lt;/script&gt;"));
    assert!(page.contains("why&lt;/script&gt;"));
    assert!(page.contains("bad&lt;/script&gt;"));
    assert!(page.contains("<span class=\"ln\">2</span>y = <mark>"), "the frame");

    // A file name in an attribute, and a comparison's code.
    let mut runtime = runtime_report();
    runtime.findings[0].file = format!("a\"{PAYLOAD}.py");
    runtime.findings[0].code = PAYLOAD.to_string();
    let runtime = Report::new(Origin::Runtime, ROOT, runtime.findings, Vec::new(), 0);
    let page = html(&runtime, &sources);
    assert_eq!(page.matches("</script>").count(), 1);
    assert!(!page.contains("<img"));
    assert!(page.contains("data-file=\"a&quot;&lt;/script&gt;"));
    let c = compare(&static_report(), &runtime).unwrap();
    let page = compare_html(&c);
    assert_eq!(page.matches("</script>").count(), 1);
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn every_finding_is_an_item_whose_attributes_match_it() {
    let report = suppressed_report();
    let page = html(&report, &sources());
    let articles: Vec<usize> = page.match_indices("<article ").map(|(i, _)| i).collect();
    let sites: Vec<_> = report.all_sites().collect();
    assert_eq!(articles.len(), sites.len());
    assert_eq!(articles.len(), report.summary.total + report.summary.suppressed);
    for (at, (finding, suppression)) in articles.iter().zip(&sites) {
        assert_eq!(attribute(&page, *at, "data-rule").unwrap(), finding.rule.code());
        assert_eq!(attribute(&page, *at, "data-file").unwrap(), finding.file);
        assert_eq!(
            attribute(&page, *at, "data-severity").unwrap(),
            finding.severity.to_string()
        );
        assert_eq!(
            attribute(&page, *at, "data-status").unwrap(),
            if suppression.is_some() {
                "suppressed"
            } else {
                "reported"
            }
        );
    }
    // The rule filter offers exactly the rules of the findings.
    let select = page.find("<select name=\"rule\"").unwrap();
    let end = select + page[select..].find("</select>").unwrap();
    let offered: BTreeSet<String> = page[select..end]
        .match_indices("<option value=\"")
        .map(|(i, m)| {
            let v = &page[select + i + m.len()..];
            v[..v.find('"').unwrap()].to_string()
        })
        .filter(|v| !v.is_empty())
        .collect();
    let rules: BTreeSet<String> = sites.iter().map(|(f, _)| f.rule.code().to_string()).collect();
    assert_eq!(offered, rules);
}

#[test]
fn files_are_ranked_by_critical_count() {
    let report = static_report();
    let page = html(&report, &sources());
    let section = page.find("<section id=\"files\">").unwrap();
    let end = section + page[section..].find("</section>").unwrap();
    let ranked: Vec<String> = page[section..end]
        .match_indices("data-set-file=\"")
        .map(|(i, m)| {
            let v = &page[section + i + m.len()..];
            v[..v.find('"').unwrap()].to_string()
        })
        .collect();
    let critical = |file: &str| {
        report
            .findings
            .iter()
            .filter(|f| f.file == file && f.severity == Severity::Critical)
            .count()
    };
    let files: BTreeSet<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(ranked.len(), files.len());
    assert!(critical(&ranked[0]) > 0);
    assert!(
        ranked.windows(2).all(|w| critical(&w[0]) >= critical(&w[1])),
        "{ranked:?}"
    );
}

#[test]
fn a_baseline_shows_new_known_and_fixed() {
    let mut report = static_report();
    report.baseline = Some(BaselineInfo {
        file: "d2h-baseline.json".to_string(),
        suppressed: 17,
        fixed: vec![BaselineEntry {
            fingerprint: "0123456789abcdef".to_string(),
            rule: RuleId::ScalarRead,
            file: "old/gone.py".to_string(),
            symbol: "Gone.step".to_string(),
            code: "loss.item()".to_string(),
        }],
    });
    let page = html(&report, &sources());
    let section = page.find("<section id=\"baseline\">").expect("a baseline section");
    let end = section + page[section..].find("</section>").unwrap();
    let text = text_between(&page, section, "</section>");
    assert!(
        text.contains(&format!("{} new (listed below)", report.findings.len())),
        "{text}"
    );
    assert!(text.contains("17 known"), "{text}");
    assert!(text.contains("1 fixed"), "{text}");
    assert!(page[section..end].contains("<code>loss.item()</code>"));
    assert_eq!(
        page.matches("<span class=\"badge new\">new</span>").count(),
        report.findings.len()
    );
    // Without a baseline: no section, no badge.
    let page = html(&static_report(), &sources());
    assert!(!page.contains("id=\"baseline\""));
    assert!(!page.contains("badge new"));
}

#[test]
fn runtime_pages_plot_the_timeline_when_there_is_one() {
    let with = html(&runtime_with_timeline(), &sources());
    for label in [
        "Latency of each frame",
        "Transfers per frame by rule",
        "Bytes per frame by rule",
        "Device-to-host reads the gate recorded in each frame",
        "Device memory in use after each frame",
    ] {
        assert!(with.contains(&format!("aria-label=\"{label}")), "{label}");
    }
    assert!(with.contains(">\np50 14.25 ms\n</text>"));
    assert!(with.contains(">\np99 27.75 ms\n</text>"));
    assert!(with.contains(">\nwarm-up (5 frames)\n</text>"));
    assert!(with.contains("id=\"driver\""));
    // The kernel table, its name escaped.
    assert!(
        with.contains("<td><code>bmul_&lt;f32&gt;</code></td><td class=\"num\">2.375</td><td class=\"num\">25.0%</td>")
    );
    let without = html(&runtime_report(), &sources());
    assert!(!without.contains("Latency of each frame"));
    assert!(!without.contains("id=\"driver\""));
    assert!(without.contains("no per-frame timeline"));
    // The per-rule figures are the report's: D2H001's 3.00 per frame (frame phase).
    assert!(with.contains("<td class=\"num\">3.00</td>"));
}

#[test]
fn the_comparison_lists_every_disagreement() {
    let c = comparison();
    let disagreements: Vec<_> = c.disagreements().collect();
    assert!(!disagreements.is_empty() && !c.runtime_only.is_empty());
    let page = compare_html(&c);
    let section = page.find("<section id=\"disagreements\">").unwrap();
    let end = section + page[section..].find("</section>").unwrap();
    let listed = &page[section..end];
    for d in &disagreements {
        assert!(
            listed.contains(&format!("{}:{}", d.file, d.line)),
            "{}:{}",
            d.file,
            d.line
        );
    }
    for r in &c.runtime_only {
        assert!(
            listed.contains(&format!("{}:{}", r.file, r.line)),
            "{}:{}",
            r.file,
            r.line
        );
    }
    // Every site is one filterable row.
    assert_eq!(
        page.matches("<tr data-item").count(),
        c.confirmed.len() + c.static_only.len() + c.runtime_only.len()
    );
}

#[test]
fn a_file_spelt_two_ways_by_the_comparison_is_one_file_on_the_page() {
    // The confirmed site keeps the runtime's longer path, the static-only one the static path.
    let mut site = static_report().findings[0].clone();
    site.file = "src/a.rs".to_string();
    site.line = 10;
    site.end_line = 10;
    let mut other = site.clone();
    other.line = 20;
    other.end_line = 20;
    let static_report = Report::new(Origin::Static, "repo", vec![site.clone(), other], Vec::new(), 1);
    let mut observed = site;
    observed.file = "repo/src/a.rs".to_string();
    observed.runtime = runtime_report().findings[0].runtime.clone();
    let runtime = Report::new(Origin::Runtime, "/srv", vec![observed], Vec::new(), 1);
    let c = compare(&static_report, &runtime).unwrap();
    assert_eq!(c.confirmed[0].file, "/srv/repo/src/a.rs");
    assert_eq!(c.static_only[0].file, "repo/src/a.rs");
    let page = compare_html(&c);
    let section = page.find("<section id=\"files\">").unwrap();
    let end = section + page[section..].find("</section>").unwrap();
    let files = &page[section..end];
    assert_eq!(files.matches("data-set-file=").count(), 1, "{files}");
    assert!(files.contains("data-set-file=\"repo/src/a.rs\""), "{files}");
    assert_eq!(page.matches("data-file=\"repo/src/a.rs\"").count(), 2);
    assert!(!page.contains("data-file=\"/srv/"));

    // A file with confirmed sites only is shown relative to the runtime root.
    let static_report = Report::new(
        Origin::Static,
        "repo",
        vec![static_report.findings[0].clone()],
        Vec::new(),
        1,
    );
    let c = compare(&static_report, &runtime).unwrap();
    assert!(c.static_only.is_empty());
    let page = compare_html(&c);
    assert!(page.contains("data-set-file=\"repo/src/a.rs\""));
    assert!(!page.contains("/srv/repo/src/a.rs"));
}
