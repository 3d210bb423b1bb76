//! End-to-end tests of `d2h pipeline run`: exit codes, the text summary, the
//! JSON runtime report of both modes, and the checks on `--frames`, `--size`
//! and `--device` that happen before anything is built.
//!
//! Runs are small (`--size 64`, a few frames) to stay fast on the CPU.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// `d2h pipeline run` from the workspace root, with colours off.
fn run(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["pipeline", "run"])
        .args(args);
    cmd
}

/// The JSON report a run writes to `out`.
fn report(args: &[&str], out: &Path) -> Value {
    let out_arg = out.to_str().unwrap();
    let mut all = args.to_vec();
    all.extend(["--format", "json", "-o", out_arg]);
    run(&all).assert().success();
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn in_phase<'r>(report: &'r Value, phase: &str) -> Vec<&'r Value> {
    findings(report).iter().filter(|f| f["phase"] == phase).collect()
}

#[test]
fn a_resident_run_prints_no_transfers_per_frame() {
    run(&["--frames", "3", "--size", "64"])
        .assert()
        .success()
        .stdout(predicate::str::contains("transfers per frame: none"))
        .stdout(predicate::str::contains("resident mode, 3 frames of 64x64 on cpu"))
        .stdout(predicate::str::contains("findings: 0 critical"));
}

#[test]
fn a_legacy_run_fails_the_critical_gate() {
    run(&[
        "--frames",
        "3",
        "--size",
        "64",
        "--mode",
        "legacy",
        "--fail-on",
        "critical",
    ])
    .assert()
    .code(1)
    .stdout(predicate::str::contains("D2H001"))
    .stdout(predicate::str::contains("D2H007"))
    .stderr(predicate::str::contains("gate failed"));
    // The resident run passes the same gate.
    run(&["--frames", "3", "--size", "64", "--fail-on", "critical"])
        .assert()
        .success();
}

#[test]
fn json_reports_put_frame_transfers_in_legacy_only() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 3u64;
    let legacy = report(
        &["--frames", "3", "--size", "64", "--mode", "legacy"],
        &dir.path().join("legacy.json"),
    );
    let resident = report(&["--frames", "3", "--size", "64"], &dir.path().join("resident.json"));
    for r in [&legacy, &resident] {
        assert_eq!(r["schema"], "d2h-report/1");
        assert_eq!(r["origin"], "runtime");
        assert_eq!(
            r["latency"]["frames"].as_u64().unwrap() + 1,
            frames,
            "one warm-up frame"
        );
        assert!(r["memory"].is_object(), "{r}");
    }
    // Resident: nothing in the frame phase, no critical finding.
    assert!(in_phase(&resident, "frame").is_empty(), "{resident:#}");
    assert_eq!(resident["summary"]["critical"], 0);
    // Legacy: every site of the seed, once per frame, critical.
    let frame = in_phase(&legacy, "frame");
    assert_eq!(frame.len(), 29, "{frame:#?}");
    for f in &frame {
        assert_eq!(f["severity"], "critical", "{f}");
        assert_eq!(f["count"].as_u64(), Some(frames), "{f}");
        assert!(f["file"].as_str().unwrap().starts_with("pipeline/src/"), "{f}");
    }
    let uploads = frame.iter().filter(|f| f["rule"] == "D2H007").count();
    assert_eq!((frame.len() - uploads, uploads), (16, 13));
    // The video's setup uploads are recorded in the pipeline's gate, so they
    // are in both reports, low.
    for r in [&legacy, &resident] {
        let video: Vec<&Value> = in_phase(r, "setup")
            .into_iter()
            .filter(|f| f["file"] == "pipeline/src/source.rs")
            .collect();
        assert_eq!(video.len(), 2, "{video:#?}");
        assert!(video.iter().all(|f| f["rule"] == "D2H007" && f["severity"] == "low"));
    }
}

#[test]
fn an_image_source_uploads_once_at_setup_in_the_pipelines_gate() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.pgm");
    let mut bytes = b"P5\n8 8\n15\n".to_vec();
    bytes.extend((0..64u8).map(|i| i % 16));
    std::fs::write(&image, bytes).unwrap();
    let report = report(
        &["--frames", "2", "--size", "64", "--image", image.to_str().unwrap()],
        &dir.path().join("report.json"),
    );
    let image_uploads: Vec<&Value> = in_phase(&report, "setup")
        .into_iter()
        .filter(|f| f["file"] == "pipeline/src/source.rs")
        .collect();
    assert_eq!(image_uploads.len(), 1, "{image_uploads:#?}");
    assert_eq!(image_uploads[0]["bytes"], 64);
    assert!(in_phase(&report, "frame").is_empty());
}

#[test]
fn detailed_logging_is_summarised_from_the_pipelines_log() {
    run(&["--frames", "4", "--size", "64", "--log-detailed"])
        .assert()
        .success()
        .stdout(predicate::str::contains("detailed log: 4 frames"))
        .stdout(predicate::str::contains("device-synced latency mean"))
        .stdout(predicate::str::contains("frame    3:"));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_usage_error() {
    run(&["--device", "cuda", "--frames", "1", "--size", "64"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--device cuda"))
        .stderr(predicate::str::contains("built without CUDA support"));
}

#[test]
fn out_of_range_values_exit_2_naming_the_flag() {
    let cases: [(&[&str], &str, &str); 7] = [
        (&["--size", "63"], "--size", "63"),
        (&["--size", "0"], "--size", "0"),
        (&["--size", "1048576"], "--size", "1048576"),
        (&["--size", "18446744073709551600"], "--size", "18446744073709551600"),
        (&["--frames", "0"], "--frames", "0"),
        (&["--frames", "1000001"], "--frames", "1000001"),
        (
            &["--frames", "18446744073709551615"],
            "--frames",
            "18446744073709551615",
        ),
    ];
    for (args, flag, value) in cases {
        let assert = run(args).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(flag) && stderr.contains(value), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(assert.get_output().stdout.is_empty(), "{args:?}: nothing runs");
    }
    // A value that does not fit the type at all is clap's error, also 2.
    run(&["--frames", "99999999999999999999999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--frames"));
}

#[test]
fn a_bad_image_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let image: PathBuf = dir.path().join("crafted.pgm");
    std::fs::write(&image, format!("P5\n{} 1\n255\n", usize::MAX)).unwrap();
    run(&["--frames", "1", "--size", "64", "--image", image.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("too large"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn driver_counts_need_the_cuda_device() {
    run(&["--driver-counts", "--frames", "1", "--size", "64"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--driver-counts"))
        .stderr(predicate::str::contains("--device cuda"));
}

#[test]
fn the_summary_names_the_preset_the_dtype_and_the_work_per_frame() {
    run(&["--frames", "2", "--size", "64"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "models: small preset (the default on cpu), f32",
        ))
        .stdout(predicate::str::contains(
            "  detector: compact CNN (width 16), 0 encoder + 2 decoder layers",
        ))
        .stdout(predicate::str::contains("GFLOPs per frame (detector "))
        .stdout(predicate::str::contains("GFLOP/s at the p50 latency"));
    run(&["--frames", "2", "--size", "64", "--preset", "small", "--dtype", "f16"])
        .assert()
        .success()
        .stdout(predicate::str::contains("models: small preset (--preset), f16"));
}

#[test]
fn json_reports_carry_the_pipeline_section() {
    let dir = tempfile::tempdir().unwrap();
    let report = report(&["--frames", "2", "--size", "64"], &dir.path().join("r.json"));
    let p = &report["pipeline"];
    assert_eq!(p["preset"], "small");
    assert_eq!(p["dtype"], "f32");
    assert_eq!(p["size"], 64);
    let total = p["gflops_per_frame"].as_f64().unwrap();
    let parts = p["detector_gflops"].as_f64().unwrap() + p["predictor_gflops"].as_f64().unwrap();
    assert!(total > 0.0 && (total - parts).abs() < 1e-9, "{p}");
}

#[test]
fn bf16_on_the_cpu_is_a_usage_error_naming_the_flag() {
    let assert = run(&["--frames", "1", "--size", "64", "--dtype", "bf16"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("--dtype") && stderr.contains("bf16"), "{stderr}");
    assert!(stderr.contains("cpu") && !stderr.contains("panicked"), "{stderr}");
    assert!(assert.get_output().stdout.is_empty());
}
