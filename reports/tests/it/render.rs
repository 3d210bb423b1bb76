//! The text, concise and Markdown renderers on hand-made reports: snapshots
//! of every format, plus the properties the snapshots cannot promise.

use d2h_reports::{render, FileError, Format, Origin, RenderOptions, Report, SourceCache, Tool};
use d2h_rules::{RuleId, Severity};
use unicode_width::UnicodeWidthStr;

use crate::fixture::*;

fn rendered(report: &Report, format: Format, color: bool, sources: &SourceCache) -> String {
    let mut out = Vec::new();
    render(report, format, RenderOptions { color }, sources, &mut out).expect("writing to a Vec never fails");
    String::from_utf8(out).expect("renderers write UTF-8")
}

fn plain(report: &Report, format: Format) -> String {
    rendered(report, format, false, &sources())
}

/// Escape bytes made visible, so coloured snapshots stay readable.
fn visible(text: &str) -> String {
    text.replace('\x1b', "␛")
}

#[test]
fn snapshot_text_static() {
    insta::assert_snapshot!("text_static", plain(&static_report(), Format::Text));
}

#[test]
fn snapshot_text_static_color() {
    insta::assert_snapshot!(
        "text_static_color",
        visible(&rendered(&static_report(), Format::Text, true, &sources()))
    );
}

#[test]
fn snapshot_concise_static() {
    insta::assert_snapshot!("concise_static", plain(&static_report(), Format::Concise));
}

#[test]
fn snapshot_concise_static_color() {
    let out = rendered(&static_report(), Format::Concise, true, &sources());
    insta::assert_snapshot!("concise_static_color", visible(&out));
}

#[test]
fn snapshot_markdown_static() {
    insta::assert_snapshot!("markdown_static", plain(&static_report(), Format::Markdown));
}

#[test]
fn snapshot_concise_suppressed() {
    insta::assert_snapshot!("concise_suppressed", plain(&suppressed_report(), Format::Concise));
}

/// Suppressed findings are not drawn, and not counted in the severities; the
/// summary says how many there are.
#[test]
fn suppressed_findings_are_counted_apart_and_not_drawn() {
    let report = suppressed_report();
    let n = report.suppressed.len();
    assert_eq!(report.summary.suppressed, n);
    assert_eq!(report.summary.total, report.findings.len());
    let text = plain(&report, Format::Text);
    assert!(
        text.trim_end()
            .ends_with(&format!("; {n} findings suppressed in the source (not counted).")),
        "{text}"
    );
    for s in &report.suppressed {
        let place = format!("{}:{}:{}:", s.finding.file, s.finding.line, s.finding.column);
        assert!(!text.contains(&place), "{place} drawn:\n{text}");
    }
    // Without suppressed findings, the JSON has neither the list nor the count.
    let plain_json = plain(&static_report(), Format::Json);
    assert!(!plain_json.contains("\"suppressed\""), "{plain_json}");
}

#[test]
fn json_keeps_suppressed_findings_with_their_suppression_and_reads_back() {
    let report = suppressed_report();
    let out = plain(&report, Format::Json);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["summary"]["suppressed"], report.suppressed.len());
    let first = &value["suppressed"][0];
    assert_eq!(first["rule"], report.suppressed[0].finding.rule.code());
    assert_eq!(first["suppression"]["kind"], "in-source");
    assert_eq!(
        first["suppression"]["justification"],
        report.suppressed[0].suppression.justification.as_deref().unwrap()
    );
    assert!(value["suppressed"][1]["suppression"].get("justification").is_none());
    let back: Report = serde_json::from_str(&out).unwrap();
    assert_eq!(back, report);
}

#[test]
fn snapshot_text_runtime() {
    insta::assert_snapshot!("text_runtime", plain(&runtime_report(), Format::Text));
}

#[test]
fn snapshot_text_runtime_color() {
    let out = rendered(&runtime_report(), Format::Text, true, &sources());
    insta::assert_snapshot!("text_runtime_color", visible(&out));
}

#[test]
fn snapshot_concise_runtime() {
    insta::assert_snapshot!("concise_runtime", plain(&runtime_report(), Format::Concise));
}

#[test]
fn snapshot_markdown_runtime() {
    insta::assert_snapshot!("markdown_runtime", plain(&runtime_report(), Format::Markdown));
}

#[test]
fn snapshot_empty_report_in_every_human_format() {
    let report = empty_report();
    insta::assert_snapshot!("text_empty", plain(&report, Format::Text));
    insta::assert_snapshot!("concise_empty", plain(&report, Format::Concise));
    insta::assert_snapshot!("markdown_empty", plain(&report, Format::Markdown));
}

#[test]
fn no_escape_bytes_without_colour_and_some_with_it() {
    for report in [static_report(), runtime_report(), empty_report()] {
        for format in Format::ALL {
            let out = plain(&report, format);
            assert!(
                !out.contains('\x1b'),
                "{} output has an escape byte:\n{out}",
                format.name()
            );
        }
        for format in [Format::Text, Format::Concise] {
            let out = rendered(&report, format, true, &sources());
            assert!(out.contains("\x1b["), "{} output is not coloured", format.name());
            assert!(
                out.ends_with("\x1b[0m\n"),
                "{} output leaves a style open",
                format.name()
            );
        }
    }
}

#[test]
fn colour_marks_severities_red_yellow_green() {
    let out = rendered(&static_report(), Format::Concise, true, &sources());
    assert!(out.contains("\x1b[1;31m[critical]\x1b[0m"));
    assert!(out.contains("\x1b[1;33m[medium]\x1b[0m"));
    assert!(out.contains("\x1b[1;32m[low]\x1b[0m"));
}

#[test]
fn control_characters_in_sources_never_reach_the_terminal() {
    let mut report = static_report();
    report.findings.truncate(1);
    let f = &mut report.findings[0];
    f.code = "x\x1b[2J".to_string();
    f.reason = "evil\x1b]0;title\x07".to_string();
    let mut cache = SourceCache::new();
    cache.insert(
        f.file.clone(),
        std::sync::Arc::from("a\n\x1b[31mb\n\x1b[2Jc\n\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\n"),
    );
    for format in [Format::Text, Format::Concise, Format::Markdown] {
        let out = rendered(&report, format, false, &cache);
        assert!(!out.contains('\x1b'), "{}:\n{out}", format.name());
        assert!(!out.contains('\x07'), "{}:\n{out}", format.name());
    }
}

/// The underline row of a text frame for a one-finding report, with the
/// source row above it.
fn frame_rows(out: &str, line: u32) -> Option<(&str, &str)> {
    let rows: Vec<&str> = out.lines().collect();
    let source_row = rows.iter().position(|row| row.starts_with(&format!("{line} |")))?;
    Some((rows[source_row], rows[source_row + 1]))
}

fn alone(finding: &d2h_reports::Finding) -> Report {
    Report::new(Origin::Static, ROOT, vec![finding.clone()], Vec::new(), 1)
}

#[test]
fn carets_span_from_column_to_end_column_and_align_with_the_source() {
    let mut checked = 0;
    for f in static_findings().iter().filter(|f| f.end_line == f.line) {
        let Some(source) = line_text(&f.file, f.line) else {
            continue;
        };
        let out = plain(&alone(f), Format::Text);
        let (_, underline) = frame_rows(&out, f.line).unwrap_or_else(|| panic!("no frame:\n{out}"));
        let carets = underline.chars().filter(|&c| c == '^').count();
        assert_eq!(carets as u32, f.end_column - f.column, "{}:{}\n{out}", f.file, f.line);

        // The first caret sits under the first character of the site, in
        // terminal columns: tabs expand to 4, wide characters count 2.
        let before: String = source.chars().take(f.column as usize - 1).collect();
        let expected = format!("{} | ", f.line).len() + before.replace('\t', "    ").width();
        let actual = underline[..underline.find('^').unwrap()].width();
        assert_eq!(actual, expected, "{}:{}\n{out}", f.file, f.line);
        checked += 1;
    }
    assert_eq!(checked, 9, "every single-line site with source was checked");
}

#[test]
fn a_multi_line_site_is_underlined_to_the_end_of_its_first_line() {
    let f = static_findings()
        .into_iter()
        .find(|f| f.end_line > f.line)
        .expect("fixture has a multi-line site");
    let out = plain(&alone(&f), Format::Text);
    let (_, underline) = frame_rows(&out, f.line).expect("frame");
    let source = line_text(&f.file, f.line).unwrap().trim_end();
    let carets = underline.chars().filter(|&c| c == '^').count();
    assert_eq!(carets, source.chars().count() + 1 - f.column as usize, "{out}");
    assert!(
        underline.ends_with(&format!("D2H006 (continues to line {})", f.end_line)),
        "{out}"
    );
}

#[test]
fn a_site_without_source_keeps_its_header_why_and_help() {
    let f = static_findings().into_iter().find(|f| f.file == ENGINE).unwrap();
    let out = plain(&alone(&f), Format::Text);
    assert!(frame_rows(&out, f.line).is_none(), "{out}");
    assert!(!out.contains("^"), "{out}");
    assert!(out.contains("    = code: `torch.cuda.synchronize()`\n"), "{out}");
    assert!(out.starts_with("tracker/engine.py:300:9: D2H004 [critical] explicit host-device synchronisation\n"));
    assert!(
        out.contains("    = why critical: reached from `Orchestrator.process_frame` → `Engine.step`\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("    = help: {}\n", RuleId::ExplicitSync.rule().fix.python)),
        "{out}"
    );
}

#[test]
fn gutter_width_follows_the_line_number() {
    let out = plain(&static_report(), Format::Text);
    assert!(out.contains("\n  |\n7 |     return    state.cpu()\n  |"), "{out}");
    assert!(out.contains("\n     |\n1024 |"), "{out}");
}

/// The files of the Markdown plan, in order.
fn plan_files(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with("### "))
        .map(|l| l.split('`').nth(1).expect("file in backticks").to_string())
        .collect()
}

#[test]
fn markdown_orders_files_by_critical_then_medium_then_low_count() {
    let report = static_report();
    let files = plan_files(&plain(&report, Format::Markdown));
    assert_eq!(files, [PREDICTOR, MATCHING, ENGINE, MEMORY, CLI]);

    let counts = |file: &str| {
        let count = |s| {
            report
                .findings
                .iter()
                .filter(|f| f.file == file && f.severity == s)
                .count()
        };
        (count(Severity::Critical), count(Severity::Medium), count(Severity::Low))
    };
    let keys: Vec<_> = files.iter().map(|f| counts(f)).collect();
    assert!(keys.windows(2).all(|w| w[0] >= w[1]), "{keys:?}");
}

#[test]
fn markdown_sites_within_a_file_are_in_line_order() {
    let md = plain(&static_report(), Format::Markdown);
    let section = md.split("### 1.").nth(1).unwrap().split("###").next().unwrap();
    let lines: Vec<u32> = section
        .lines()
        .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| l[2..].split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, [42, 140, 141, 150]);
}

#[test]
fn markdown_tables_keep_their_shape_despite_pipes_and_backticks() {
    for report in [static_report(), runtime_report()] {
        let md = plain(&report, Format::Markdown);
        let mut columns = None;
        for row in md.lines() {
            if !row.starts_with('|') {
                columns = None;
                continue;
            }
            let bars = row
                .char_indices()
                .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
                .count();
            assert_eq!(bars, *columns.get_or_insert(bars), "row breaks its table: {row}");
        }
    }
    let md = plain(&static_report(), Format::Markdown);
    assert!(md.contains("| ``f\"merged `{(a \\| b).sum()}` masks\"`` |"), "{md}");
}

#[test]
fn markdown_lists_one_fix_per_rule_of_each_file() {
    let md = plain(&static_report(), Format::Markdown);
    let predictor = md.split("### 1.").nth(1).unwrap().split("###").next().unwrap();
    let fixes: Vec<&str> = predictor.lines().filter(|l| l.starts_with("- **D2H")).collect();
    assert_eq!(fixes.len(), 4, "{predictor}");
    assert!(fixes[0].starts_with("- **D2H001 explicit-copy**: keep the tensor on the device"));
    assert!(
        md.contains("## Files that could not be audited\n\n- `vendor/broken.py`: could not parse"),
        "{md}"
    );
}

#[test]
fn human_formats_show_where_the_hot_path_enters() {
    let report = static_report();
    let via = report
        .findings
        .iter()
        .find_map(|f| f.via.as_ref())
        .expect("the fixture has a via");
    let text = plain(&report, Format::Text);
    let note = format!("= via: {}:{}:{} calls `{}`", via.file, via.line, via.column, via.calls);
    assert_eq!(text.matches(&note).count(), 1, "{text}");
    let concise = plain(&report, Format::Concise);
    let tail = format!(" (via {}:{})", via.file, via.line);
    assert_eq!(concise.lines().filter(|l| l.ends_with(&tail)).count(), 1, "{concise}");
    let markdown = plain(&report, Format::Markdown);
    let said = format!(
        "; via `{}:{}:{}`, which calls `{}` |",
        via.file, via.line, via.column, via.calls
    );
    assert_eq!(markdown.matches(&said).count(), 1, "{markdown}");
    let html = plain(&report, Format::Html);
    let shown = format!(
        "<dt>via</dt><dd><code>{}:{}:{}</code> calls <code>{}</code>",
        via.file, via.line, via.column, via.calls
    );
    assert_eq!(html.matches(&shown).count(), 1);
}

#[test]
fn json_round_trips_to_an_equal_report() {
    for report in [static_report(), runtime_report(), empty_report()] {
        let json = plain(&report, Format::Json);
        let back: Report = serde_json::from_str(&json).expect("the JSON renderer writes the schema");
        assert_eq!(back, report);
    }
}

#[test]
fn output_is_deterministic_and_independent_of_finding_order() {
    let report = static_report();
    let mut shuffled = report.clone();
    shuffled.findings.reverse();
    shuffled.findings.swap(2, 7);
    for format in [Format::Text, Format::Concise, Format::Markdown] {
        assert_eq!(plain(&report, format), plain(&report, format));
    }
    assert_eq!(plain(&shuffled, Format::Markdown), plain(&report, Format::Markdown));
}

#[test]
fn the_summary_sentence_pluralises() {
    let one = alone(&static_findings()[0]);
    let text = plain(&one, Format::Text);
    assert!(
        text.ends_with("\nFound 1 transfer (0 critical, 0 medium, 1 low) in 1 file scanned.\n"),
        "{text}"
    );

    let report = static_report();
    let expected =
        "Found 11 transfers (5 critical, 3 medium, 3 low) in 7 files scanned; 1 file could not be audited.\n";
    assert!(plain(&report, Format::Text).ends_with(expected));
    assert!(plain(&report, Format::Concise).ends_with(expected));

    let errors = ["a.py", "b.py"].map(|file| FileError {
        file: file.to_string(),
        message: "unreadable".to_string(),
    });
    let mut none = Report::new(Origin::Static, ROOT, Vec::new(), errors.to_vec(), 2);
    none.tool = Tool {
        name: "d2h".to_string(),
        version: "0".to_string(),
    };
    let concise = plain(&none, Format::Concise);
    assert_eq!(
        concise,
        "a.py: error: unreadable\nb.py: error: unreadable\n\
         No transfers found in 2 files scanned; 2 files could not be audited.\n"
    );

    let runtime = plain(&runtime_report(), Format::Text);
    assert!(runtime.ends_with("\nObserved 4 transfer sites (2 critical, 0 medium, 2 low), 2413 transfers in total.\n"));
}

#[test]
fn runtime_text_shows_counts_latency_and_memory() {
    let out = plain(&runtime_report(), Format::Text);
    assert!(
        out.contains("    = observed: 1800× (3.00/frame), 117964800 bytes (112.5 MiB), phase frame\n"),
        "{out}"
    );
    assert!(
        out.contains("   = observed: 12× (0.02/frame), 48 bytes, phase frame, behind a logging guard\n"),
        "{out}"
    );
    assert!(out.contains("Latency over 600 frames\n  p50   14.25 ms\n"), "{out}");
    assert!(out.contains("  device growth                 +12.0 MiB\n"), "{out}");
}

#[test]
fn an_empty_span_gets_one_caret_and_a_stale_column_gets_no_frame() {
    let mut f = static_findings()
        .into_iter()
        .find(|f| f.file == PREDICTOR && f.line == 140)
        .unwrap();
    f.end_column = f.column;
    let out = plain(&alone(&f), Format::Text);
    let (_, underline) = frame_rows(&out, 140).expect("frame");
    assert_eq!(underline.matches('^').count(), 1, "{out}");

    // The file changed since the audit: the column lies past the line's end.
    f.column = 200;
    f.end_column = 210;
    let out = plain(&alone(&f), Format::Text);
    assert!(frame_rows(&out, 140).is_none(), "{out}");
    assert!(out.contains("= why critical: "), "{out}");
}

#[test]
fn a_rust_finding_is_told_the_rust_fix_and_a_python_one_the_python_fix() {
    let python = static_findings()
        .into_iter()
        .find(|f| f.rule == RuleId::ExplicitCopy)
        .unwrap();
    let mut rust = python.clone();
    rust.file = "pipeline/src/matcher.rs".to_string();
    let hints = RuleId::ExplicitCopy.rule().fix;
    for (finding, hint, plan) in [
        (&python, hints.python, "**: keep the tensor on the device and return it"),
        (&rust, hints.rust, "**: return the `Tensor` and keep it on the device"),
    ] {
        let text = plain(&alone(finding), Format::Text);
        assert!(text.contains(&format!("= help: {hint}\n")), "{text}");
        let markdown = plain(&alone(finding), Format::Markdown);
        assert!(
            markdown.contains(&format!("- **D2H001 explicit-copy{plan}")),
            "{markdown}"
        );
    }
}
