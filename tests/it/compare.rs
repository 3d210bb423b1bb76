//! `d2h compare` end to end: reports written by the binary itself, exit codes of `--fail-on`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn d2h() -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// A tiny project with one hot-path copy, and a runtime report that saw it plus a site the auditor cannot see.
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("proj");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("model.py"),
        "import torch\n\ndef forward(x: torch.Tensor):\n    y = x * 2\n    return y.cpu()\n\ndef report(t: torch.Tensor):\n    return t.item()\n",
    )
    .unwrap();
    let static_path = dir.join("static.json");
    d2h()
        .arg("audit")
        .arg(&src)
        .args(["--format", "json", "--max-critical", "100", "-o"])
        .arg(&static_path)
        .assert()
        .code(0);
    let runtime = serde_json::json!({
        "schema": "d2h-report/1", "origin": "runtime",
        "tool": {"name": "probe", "version": "0"},
        "root": dir.to_string_lossy(),
        "summary": {"total": 2, "critical": 2, "medium": 0, "low": 0, "files_scanned": 0, "files_with_errors": 0},
        "findings": [
            {"rule": "D2H001", "name": "explicit-copy", "severity": "critical", "file": "proj/model.py",
             "line": 5, "column": 12, "end_line": 5, "end_column": 19, "symbol": "forward", "code": "y.cpu()",
             "reason": "frame phase, unguarded", "fingerprint": "a", "count": 20, "bytes": 640, "per_frame": 1.0,
             "phase": "frame", "guarded": false},
            {"rule": "D2H002", "name": "scalar-read", "severity": "critical", "file": "proj/model.py",
             "line": 4, "column": 5, "end_line": 4, "end_column": 10, "symbol": "forward", "code": "y = x * 2",
             "reason": "frame phase, unguarded", "fingerprint": "b", "count": 20, "bytes": 80, "per_frame": 1.0,
             "phase": "frame", "guarded": false}
        ],
        "errors": []
    });
    let runtime_path = dir.join("runtime.json");
    std::fs::write(&runtime_path, serde_json::to_string_pretty(&runtime).unwrap()).unwrap();
    (static_path, runtime_path)
}

#[test]
fn compare_joins_the_views_and_gates_on_missed_sites() {
    let dir = tempfile::tempdir().unwrap();
    let (static_path, runtime_path) = fixture(dir.path());
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "1 confirmed (0 with different severities), 1 static-only (not executed), 1 runtime-only",
        ));
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--fail-on", "missed"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1 runtime-only site(s) missed"));
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--fail-on", "disagree"])
        .assert()
        .code(0);

    let out = d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "d2h-compare/1");
    assert_eq!(json["confirmed"][0]["count"], 20);
    assert_eq!(json["confirmed"][0]["static_severity"], "critical");
    assert_eq!(json["static_only"][0]["rule"], "D2H002");
}

#[test]
fn compare_rejects_swapped_or_unreadable_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (static_path, runtime_path) = fixture(dir.path());
    d2h()
        .arg("compare")
        .arg(&runtime_path)
        .arg(&static_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the first report has origin `Runtime`"));
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json"));
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(dir.path().join("bad.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a d2h report"));
}

/// The Python probe's reports (built here with its recorder, no torch needed) are read by `d2h compare`.
#[test]
fn compare_reads_the_python_probe_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (static_path, _) = fixture(dir.path());
    let runtime_path = dir.path().join("probe.json");
    let script = format!(
        "import sys; sys.path.insert(0, {probes:?}); import d2h_probe, json\n\
         r = d2h_probe.Recorder(root={root:?})\n\
         r.phase = 'frame'; r.frames = 2\n\
         r.record('D2H001', 'proj/model.py', 5, 'forward', 'return y.cpu()', 64)\n\
         r.record('D2H001', 'proj/model.py', 5, 'forward', 'return y.cpu()', 64)\n\
         json.dump(r.report(), open({out:?}, 'w'))\n",
        probes = concat!(env!("CARGO_MANIFEST_DIR"), "/probes/python"),
        root = dir.path().to_string_lossy(),
        out = runtime_path.to_string_lossy(),
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let out = d2h()
        .arg("compare")
        .arg(&static_path)
        .arg(&runtime_path)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["confirmed"][0]["count"], 2);
    assert_eq!(json["confirmed"][0]["per_frame"], 1.0);
    assert_eq!(json["runtime_only"].as_array().unwrap().len(), 0);
}
