//! The self-audit gates (`.ci/run`) as tests: the reference pipeline passes
//! d2h's rules statically (`d2h audit pipeline --max-critical 0`), and what
//! its transfer gate records at run time meets the static report site for
//! site, with the same severity, in every mode the pipeline has: resident,
//! resident with detailed logging, the matcher's emergency fallback, and
//! legacy (whose frame-path transfers are critical on both sides, and
//! suppressed in the source as deliberate).
//!
//! The expected sites come from the `// d2h-site: <marker>` comments of
//! `pipeline/src`, not from copied figures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use d2h_pipeline::report::runtime_report;
use d2h_pipeline::{DeviceKind, FrameSource, Mode, Pipeline, PipelineConfig, SyntheticVideo};
use d2h_reports::compare::{compare, Comparison};
use d2h_reports::Report;
use d2h_rules::Severity;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn d2h() -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(workspace());
    cmd
}

/// `d2h audit pipeline --format json`, as the CI gate runs it (with `pipeline/d2h.toml`).
fn static_report() -> Report {
    let out = d2h()
        .args(["audit", "pipeline", "--format", "json", "--max-critical", "0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the static gate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `// d2h-site:` markers of `pipeline/src`: (path from the workspace root, line, marker).
fn markers() -> Vec<(String, u32, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![workspace().join("pipeline/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let file = path
                    .strip_prefix(workspace())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                    if let Some((_, marker)) = line.split_once("// d2h-site: ") {
                        found.push((file.clone(), i as u32 + 1, marker.trim().to_string()));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

fn with_prefix(prefix: &str) -> Vec<(String, u32, String)> {
    markers().into_iter().filter(|m| m.2.starts_with(prefix)).collect()
}

/// Runs the tiny pipeline for a few frames and compares its runtime report with `static_report`.
fn run_and_compare(static_report: &Report, configure: impl FnOnce(&mut PipelineConfig)) -> Comparison {
    let mut cfg = PipelineConfig::tiny();
    configure(&mut cfg);
    let device = DeviceKind::Cpu.open().unwrap();
    let size = cfg.size;
    let mut pipeline = Pipeline::new(cfg, &device).unwrap();
    let gate = pipeline.gate().clone();
    let mut video = SyntheticVideo::with_gate(size, 4, 11, &device, &gate).unwrap();
    let frames = 3;
    for _ in 0..frames {
        let frame = video.next_frame().unwrap();
        pipeline.process_frame(&frame).unwrap();
    }
    pipeline.teardown().unwrap();
    let root = workspace().display().to_string();
    let runtime = runtime_report(&pipeline.gate().records(), frames, &root, None, None);
    assert!(!runtime.findings.is_empty());
    let comparison = compare(static_report, &runtime).unwrap();
    assert!(
        comparison.runtime_only.is_empty(),
        "transfers the static audit missed: {:#?}",
        comparison.runtime_only
    );
    let disagreements: Vec<_> = comparison.disagreements().collect();
    assert!(disagreements.is_empty(), "severity disagreements: {disagreements:#?}");
    comparison
}

/// The confirmed site at a marker, with its two severities.
fn confirmed_at<'c>(
    comparison: &'c Comparison,
    (file, line, marker): &(String, u32, String),
) -> &'c d2h_reports::compare::Confirmed {
    let at = |c: &&d2h_reports::compare::Confirmed| c.line == *line && Path::new(&c.file).ends_with(file);
    comparison
        .confirmed
        .iter()
        .find(at)
        .unwrap_or_else(|| panic!("{file}:{line} ({marker}) not confirmed: {:#?}", comparison.confirmed))
}

#[test]
fn the_pipeline_meets_its_static_report_in_every_mode() {
    let static_report = static_report();
    assert_eq!(static_report.summary.critical, 0);

    // Resident: only setup and teardown transfers, low on both sides.
    let resident = run_and_compare(&static_report, |_| {});
    assert!(resident.confirmed.iter().all(|c| c.runtime_severity == Severity::Low));
    assert_eq!(resident.suppressed().count(), 0);
    for marker in with_prefix("setup-video").iter().chain(&with_prefix("teardown-")) {
        confirmed_at(&resident, marker);
    }

    // Detailed logging: the guarded reads, low on both sides.
    let logging = run_and_compare(&static_report, |cfg| cfg.log_detailed = true);
    let guarded = with_prefix("guarded-");
    assert!(!guarded.is_empty());
    for marker in &guarded {
        assert_eq!(confirmed_at(&logging, marker).static_severity, Severity::Low);
    }

    // The matcher's emergency fallback: low on both sides.
    let fallback = run_and_compare(&static_report, |cfg| cfg.tracker.force_host_fallback = true);
    let fallback_sites = with_prefix("fallback-");
    assert!(!fallback_sites.is_empty());
    for marker in &fallback_sites {
        assert_eq!(confirmed_at(&fallback, marker).static_severity, Severity::Low);
    }

    // Legacy: every marked legacy transfer critical on both sides, and
    // suppressed in the source with its reason; nothing else critical.
    let legacy = run_and_compare(&static_report, |cfg| cfg.mode = Mode::Legacy);
    let legacy_sites = with_prefix("legacy-");
    assert!(!legacy_sites.is_empty());
    for marker in &legacy_sites {
        let site = confirmed_at(&legacy, marker);
        assert_eq!(
            (site.static_severity, site.runtime_severity),
            (Severity::Critical, Severity::Critical)
        );
        let justification = site.suppression.as_ref().and_then(|s| s.justification.as_deref());
        assert!(
            justification.is_some_and(|j| j.contains("legacy")),
            "{marker:?}: {justification:?}"
        );
    }
    assert_eq!(legacy.suppressed().count(), legacy_sites.len());
    let critical = legacy
        .confirmed
        .iter()
        .filter(|c| c.runtime_severity == Severity::Critical)
        .count();
    assert_eq!(critical, legacy_sites.len());
}

/// The CI gate's commands: `d2h compare --fail-on missed,disagree` passes on
/// the pipeline's own reports and fails on a runtime site the static report
/// does not have.
#[test]
fn compare_gates_the_pipeline_reports() {
    let dir = tempfile::tempdir().unwrap();
    let static_path = dir.path().join("static.json");
    std::fs::write(&static_path, serde_json::to_vec(&static_report()).unwrap()).unwrap();
    let runtime_path = dir.path().join("runtime.json");
    d2h()
        .args(["pipeline", "run", "--device", "cpu", "--frames", "2", "--size", "64"])
        .args(["--mode", "legacy", "--format", "json", "--output"])
        .arg(&runtime_path)
        .assert()
        .code(0);
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--fail-on", "missed,disagree"])
        .assert()
        .code(0);
    // A static report without its suppressed findings misses the legacy sites.
    let mut stripped = static_report();
    stripped.suppressed.clear();
    stripped.summary.suppressed = 0;
    std::fs::write(&static_path, serde_json::to_vec(&stripped).unwrap()).unwrap();
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--fail-on", "missed"])
        .assert()
        .code(1);
}
