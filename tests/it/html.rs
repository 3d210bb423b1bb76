//! `--format html` end to end: the audit page of the bundled legacy example
//! (also against a baseline), and, with the pipeline, the page of a run and
//! the comparison of the pipeline's static audit with that run. The figures
//! the pages show are checked against the JSON the same commands write.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn d2h() -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("RAYON_NUM_THREADS");
    cmd
}

fn stdout(cmd: &mut Command, code: i32) -> String {
    String::from_utf8(cmd.assert().code(code).get_output().stdout.clone()).unwrap()
}

/// The values of `data-NAME` attributes in `page`, in document order.
fn data(page: &str, name: &str) -> Vec<String> {
    let key = format!(" data-{name}=\"");
    page.match_indices(&key)
        .map(|(i, _)| {
            let rest = &page[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn audit_page_of_the_legacy_example() {
    let page = stdout(d2h().args(["audit", "examples/legacy-pipeline", "--format", "html"]), 1);
    let report: Value = serde_json::from_str(&stdout(
        d2h().args(["audit", "examples/legacy-pipeline", "--format", "json"]),
        1,
    ))
    .unwrap();
    let findings = report["findings"].as_array().unwrap();
    let suppressed = report["suppressed"].as_array().map_or(0, Vec::len);
    assert!(findings.len() > 10);
    assert_eq!(page.matches("<article ").count(), findings.len() + suppressed);
    // Every finding of the example has its source: every one gets a code frame.
    assert_eq!(
        page.matches("<pre class=\"frame\">").count(),
        findings.len() + suppressed
    );
    // Findings in report order, with the report's rules and files.
    let rules: Vec<String> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(data(&page, "rule")[..findings.len()], rules[..]);
    // Files ranked by critical count: the first has the most.
    let critical = |file: &str| {
        findings
            .iter()
            .filter(|f| f["file"] == file && f["severity"] == "critical")
            .count()
    };
    let ranked = data(&page, "set-file");
    let most = findings
        .iter()
        .map(|f| critical(f["file"].as_str().unwrap()))
        .max()
        .unwrap();
    assert!(most > 0);
    assert_eq!(critical(&ranked[0]), most, "{ranked:?}");
    let summary = &report["summary"];
    assert!(page.contains(&format!(
        "<span class=\"value\">{}</span><span class=\"label\">critical</span>",
        summary["critical"]
    )));
}

#[test]
fn audit_page_against_a_baseline_of_the_legacy_example() {
    // The migration's progress: the legacy example's findings are the baseline,
    // the resident example is the code now.
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let work = dir.path().join("pipeline");
    std::fs::create_dir(&work).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(examples.join("legacy-pipeline")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, work.join(path.file_name().unwrap())).unwrap();
    }
    d2h()
        .current_dir(dir.path())
        .args(["audit", "pipeline", "--write-baseline", "baseline.json"])
        .assert()
        .code(0);
    for entry in std::fs::read_dir(examples.join("resident-pipeline")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, work.join(path.file_name().unwrap())).unwrap();
    }
    let json: Value = serde_json::from_str(&stdout(
        d2h()
            .current_dir(dir.path())
            .args(["audit", "pipeline", "--baseline", "baseline.json", "--format", "json"]),
        0,
    ))
    .unwrap();
    let page = stdout(
        d2h().current_dir(dir.path()).args([
            "audit",
            "pipeline",
            "--baseline",
            baseline.to_str().unwrap(),
            "--format",
            "html",
        ]),
        0,
    );
    let new = json["findings"].as_array().unwrap().len();
    let known = json["baseline"]["suppressed"].as_u64().unwrap();
    let fixed = json["baseline"]["fixed"].as_array().unwrap().len();
    assert!(known > 0 && fixed > 0, "{}", json["baseline"]);
    for (value, label) in [
        (new.to_string(), "new (listed below)"),
        (known.to_string(), "known (in the baseline, hidden)"),
        (fixed.to_string(), "fixed (in the baseline, gone)"),
    ] {
        assert!(
            page.contains(&format!(
                "<span class=\"value\">{value}</span><span class=\"label\">{label}</span>"
            )),
            "{label}"
        );
    }
    assert_eq!(page.matches("<span class=\"badge new\">new</span>").count(), new);
}

#[cfg(feature = "pipeline")]
#[test]
fn pipeline_run_and_compare_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let run = [
        "pipeline", "run", "--device", "cpu", "--frames", "12", "--size", "64", "--mode", "legacy",
    ];
    d2h()
        .args(run)
        .args(["--format", "json", "-o", &path("runtime.json")])
        .assert()
        .code(0);
    d2h()
        .args(run)
        .args(["--format", "html", "-o", &path("run.html")])
        .assert()
        .code(0);
    let runtime: Value = serde_json::from_str(&std::fs::read_to_string(path("runtime.json")).unwrap()).unwrap();
    // The timeline: one entry per frame, the warm-up of `RunOptions::frames`.
    let timeline = &runtime["timeline"];
    assert_eq!(timeline["latency_ms"].as_array().unwrap().len(), 12);
    assert_eq!(timeline["reads"].as_array().unwrap().len(), 12);
    assert_eq!(timeline["warmup"], 1);
    assert!(timeline["reads"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_u64().unwrap() > 0));

    let page = std::fs::read_to_string(path("run.html")).unwrap();
    for label in [
        "Latency of each frame",
        "Transfers per frame by rule",
        "Bytes per frame by rule",
        "Device-to-host reads the gate recorded in each frame",
    ] {
        assert!(page.contains(&format!("aria-label=\"{label}")), "{label}");
    }
    let findings = runtime["findings"].as_array().unwrap();
    assert_eq!(page.matches("<article ").count(), findings.len());
    assert!(!page.contains("id=\"driver\""), "no driver section on the CPU device");

    d2h()
        .args([
            "audit",
            "pipeline",
            "--format",
            "json",
            "--quiet",
            "-o",
            &path("static.json"),
        ])
        .assert()
        .code(0);
    let comparison: Value = serde_json::from_str(&stdout(
        d2h().args([
            "compare",
            &path("static.json"),
            &path("runtime.json"),
            "--format",
            "json",
        ]),
        0,
    ))
    .unwrap();
    let page = stdout(
        d2h().args([
            "compare",
            &path("static.json"),
            &path("runtime.json"),
            "--format",
            "html",
        ]),
        0,
    );
    let kinds = data(&page, "kind");
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    let confirmed = comparison["confirmed"].as_array().unwrap().len();
    assert!(confirmed > 0);
    assert_eq!(count("confirmed") + count("disagreement"), confirmed);
    assert_eq!(
        count("static-only"),
        comparison["static_only"].as_array().unwrap().len()
    );
    assert_eq!(
        count("runtime-only"),
        comparison["runtime_only"].as_array().unwrap().len()
    );
    assert!(page.contains("aria-label=\"Sites per rule: confirmed, static-only and runtime-only\""));
}
