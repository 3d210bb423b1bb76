use super::*;
use crate::{Report, RuntimeStats, Suppression};

fn finding(rule: RuleId, file: &str, line: u32, severity: Severity, runtime: Option<u64>) -> Finding {
    Finding {
        rule,
        name: rule.name().to_string(),
        severity,
        confidence: d2h_rules::Confidence::Certain,
        file: file.to_string(),
        line,
        column: 5,
        end_line: line,
        end_column: 20,
        symbol: "f".to_string(),
        code: "x.cpu()".to_string(),
        reason: format!("reason for {file}:{line}"),
        fingerprint: format!("{line:016x}"),
        via: None,
        runtime: runtime.map(|count| RuntimeStats {
            count,
            bytes: count * 16,
            per_frame: count as f64 / 10.0,
            phase: "frame".to_string(),
            guarded: false,
        }),
    }
}

fn static_report(root: &str, findings: Vec<Finding>) -> Report {
    Report::new(Origin::Static, root, findings, Vec::new(), 3)
}

fn runtime_report(root: &str, findings: Vec<Finding>) -> Report {
    Report::new(Origin::Runtime, root, findings, Vec::new(), 0)
}

#[test]
fn joins_on_rule_path_and_line_across_roots() {
    let s = static_report(
        "pipeline",
        vec![
            finding(RuleId::ExplicitCopy, "src/a.rs", 10, Severity::Critical, None),
            finding(RuleId::ScalarRead, "src/a.rs", 20, Severity::Low, None),
            finding(RuleId::ExplicitSync, "src/b.rs", 5, Severity::Medium, None),
        ],
    );
    let r = runtime_report(
        ".",
        vec![
            finding(
                RuleId::ExplicitCopy,
                "pipeline/src/a.rs",
                10,
                Severity::Critical,
                Some(50),
            ),
            finding(
                RuleId::ScalarRead,
                "./pipeline/src/a.rs",
                20,
                Severity::Critical,
                Some(10),
            ),
            finding(
                RuleId::ExplicitCopy,
                "pipeline/src/c.rs",
                7,
                Severity::Critical,
                Some(10),
            ),
        ],
    );
    let c = compare(&s, &r).unwrap();
    assert_eq!(c.confirmed.len(), 2);
    assert_eq!(c.confirmed[0].file, "pipeline/src/a.rs");
    assert_eq!((c.confirmed[0].count, c.confirmed[0].bytes), (50, 800));
    let disagreements: Vec<_> = c.disagreements().map(|d| d.line).collect();
    assert_eq!(disagreements, vec![20]);
    assert_eq!(c.static_only.len(), 1);
    assert_eq!(c.static_only[0].file, "pipeline/src/b.rs");
    assert_eq!(c.runtime_only.len(), 1);
    assert_eq!(
        (c.runtime_only[0].file.as_str(), c.runtime_only[0].line),
        ("pipeline/src/c.rs", 7)
    );
}

#[test]
fn a_different_rule_or_line_is_not_a_match() {
    let s = static_report(
        ".",
        vec![finding(RuleId::ExplicitCopy, "a.py", 10, Severity::Critical, None)],
    );
    let r = runtime_report(
        ".",
        vec![
            finding(RuleId::ScalarRead, "a.py", 10, Severity::Critical, Some(1)),
            finding(RuleId::ExplicitCopy, "a.py", 11, Severity::Critical, Some(1)),
        ],
    );
    let c = compare(&s, &r).unwrap();
    assert!(c.confirmed.is_empty());
    assert_eq!(c.runtime_only.len(), 2);
    assert_eq!(c.static_only.len(), 1);
}

#[test]
fn two_runtime_sites_on_one_line_pair_with_distinct_static_sites() {
    let s = static_report(
        ".",
        vec![
            finding(RuleId::ExplicitCopy, "a.py", 3, Severity::Critical, None),
            finding(RuleId::ExplicitCopy, "a.py", 3, Severity::Critical, None),
        ],
    );
    // Two calls on one line: the runtime tells them apart by column.
    let at_column = |column: u32, count: u64| Finding {
        column,
        ..finding(RuleId::ExplicitCopy, "a.py", 3, Severity::Critical, Some(count))
    };
    let r = runtime_report(".", vec![at_column(9, 1), at_column(30, 2)]);
    let c = compare(&s, &r).unwrap();
    assert_eq!(c.confirmed.len(), 2);
    assert!(c.static_only.is_empty() && c.runtime_only.is_empty());
}

#[test]
fn one_site_seen_in_several_phases_is_one_site_with_its_worst_severity() {
    let s = static_report(
        ".",
        vec![finding(RuleId::ExplicitCopy, "a.py", 3, Severity::Critical, None)],
    );
    let in_phase = |phase: &str, severity: Severity, count: u64| {
        let mut f = finding(RuleId::ExplicitCopy, "a.py", 3, severity, Some(count));
        f.runtime.as_mut().unwrap().phase = phase.to_string();
        f.reason = format!("{phase} phase");
        f
    };
    let r = runtime_report(
        ".",
        vec![
            in_phase("setup", Severity::Low, 1),
            in_phase("frame", Severity::Critical, 20),
            in_phase("teardown", Severity::Low, 2),
        ],
    );
    let c = compare(&s, &r).unwrap();
    assert!(c.static_only.is_empty() && c.runtime_only.is_empty(), "{c:?}");
    assert_eq!(c.confirmed.len(), 1);
    let site = &c.confirmed[0];
    assert_eq!((site.count, site.bytes), (23, 23 * 16));
    assert_eq!(site.runtime_severity, Severity::Critical);
    assert_eq!(site.runtime_reason, "frame phase");
    assert!(site.agrees());
}

#[test]
fn a_runtime_line_inside_a_multi_line_static_site_matches_it() {
    // `self\n.gate\n.to_scalar(..)`: the static site starts at `self`, the
    // runtime records the line of `.to_scalar`.
    let mut spanning = finding(RuleId::ScalarRead, "a.rs", 10, Severity::Low, None);
    spanning.end_line = 12;
    let s = static_report(
        ".",
        vec![spanning, finding(RuleId::ScalarRead, "a.rs", 14, Severity::Low, None)],
    );
    let r = runtime_report(
        ".",
        vec![
            finding(RuleId::ScalarRead, "a.rs", 12, Severity::Low, Some(1)),
            finding(RuleId::ScalarRead, "a.rs", 13, Severity::Low, Some(1)),
        ],
    );
    let c = compare(&s, &r).unwrap();
    let confirmed: Vec<u32> = c.confirmed.iter().map(|s| s.line).collect();
    assert_eq!(confirmed, vec![12]);
    let runtime_only: Vec<u32> = c.runtime_only.iter().map(|s| s.line).collect();
    assert_eq!(runtime_only, vec![13]);
    let static_only: Vec<u32> = c.static_only.iter().map(|s| s.line).collect();
    assert_eq!(static_only, vec![14]);
}

#[test]
fn suppressed_static_sites_are_joined_and_keep_their_suppression() {
    let suppression = |line: u32| Suppression {
        kind: crate::SuppressionKind::InSource,
        justification: Some("legacy mode, on purpose".to_string()),
        line,
    };
    let s =
        static_report(".", vec![finding(RuleId::ExplicitCopy, "a.rs", 3, Severity::Low, None)]).with_suppressed(vec![
            crate::SuppressedFinding {
                finding: finding(RuleId::ExplicitCopy, "a.rs", 10, Severity::Critical, None),
                suppression: suppression(9),
            },
            crate::SuppressedFinding {
                finding: finding(RuleId::ExplicitCopy, "a.rs", 20, Severity::Critical, None),
                suppression: suppression(19),
            },
        ]);
    let r = runtime_report(
        ".",
        vec![finding(RuleId::ExplicitCopy, "a.rs", 10, Severity::Critical, Some(5))],
    );
    let c = compare(&s, &r).unwrap();
    assert!(c.runtime_only.is_empty());
    assert_eq!(c.confirmed.len(), 1);
    assert_eq!(c.confirmed[0].suppression, Some(suppression(9)));
    assert_eq!(c.disagreements().count(), 0);
    assert_eq!(c.suppressed().count(), 1);
    let static_only: Vec<(u32, bool)> = c
        .static_only
        .iter()
        .map(|s| (s.line, s.suppression.is_some()))
        .collect();
    assert_eq!(static_only, vec![(3, false), (20, true)]);
    let mut text = Vec::new();
    render(&c, CompareFormat::Text, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("1 confirmed (0 with different severities, 1 suppressed in the source)"),
        "{text}"
    );
    let mut md = Vec::new();
    render(&c, CompareFormat::Markdown, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("| legacy mode, on purpose |"), "{md}");
    let mut json = Vec::new();
    render(&c, CompareFormat::Json, &mut json).unwrap();
    let back: Comparison = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, c);
}

#[test]
fn origins_are_checked() {
    let s = static_report(".", Vec::new());
    let r = runtime_report(".", Vec::new());
    assert!(matches!(
        compare(&r, &r),
        Err(CompareError::WrongOrigin { which: "first", .. })
    ));
    assert!(matches!(
        compare(&s, &s),
        Err(CompareError::WrongOrigin { which: "second", .. })
    ));
    assert!(compare(&s, &r).unwrap().confirmed.is_empty());
}

#[test]
fn paths_normalise() {
    assert_eq!(normalise_path(".", "./a/b.py"), "a/b.py");
    assert_eq!(normalise_path("pipeline/", "src/x.rs"), "pipeline/src/x.rs");
    assert_eq!(normalise_path("a/b", "../c.py"), "a/c.py");
    assert_eq!(
        normalise_path("/work/repo", "pipeline/x.rs"),
        "/work/repo/pipeline/x.rs"
    );
    assert!(same_file("/work/repo/pipeline/x.rs", "pipeline/x.rs"));
    assert!(same_file("pipeline/src/x.rs", "src/x.rs"));
    assert!(!same_file("pipeline/src/x.rs", "rc/x.rs"));
}

#[test]
fn renderers_show_every_section_and_json_round_trips() {
    let s = static_report(
        ".",
        vec![
            finding(RuleId::ExplicitCopy, "a.py", 1, Severity::Critical, None),
            finding(RuleId::ExplicitSync, "a.py", 2, Severity::Medium, None),
        ],
    );
    let r = runtime_report(
        ".",
        vec![
            finding(RuleId::ExplicitCopy, "a.py", 1, Severity::Low, Some(3)),
            finding(RuleId::HostFormat, "b.py", 9, Severity::Critical, Some(3)),
        ],
    );
    let c = compare(&s, &r).unwrap();
    let mut text = Vec::new();
    render(&c, CompareFormat::Text, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("disagree") && text.contains("runtime-only") && text.contains("static-only"),
        "{text}"
    );
    assert!(
        text.contains("1 confirmed (1 with different severities), 1 static-only"),
        "{text}"
    );
    let mut md = Vec::new();
    render(&c, CompareFormat::Markdown, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains("## Confirmed") && md.contains("## Runtime-only") && md.contains("**low**"),
        "{md}"
    );
    let mut json = Vec::new();
    render(&c, CompareFormat::Json, &mut json).unwrap();
    let back: Comparison = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, c);
}
