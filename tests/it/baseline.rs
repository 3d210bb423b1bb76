//! Baselines end to end: `--write-baseline` is deterministic, `--baseline`
//! hides and ungates what it lists, survives edits that move code (lines
//! inserted above, a class body re-indented, a function moved below another),
//! shows genuinely new sites, and lists the entries that are fixed.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn d2h(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

const MODEL: &str = r#"import torch


def helper(t: torch.Tensor):
    return t.max().item()


class Tracker(torch.nn.Module):
    def forward(self, x: torch.Tensor):
        boxes = x.sigmoid()
        host = boxes.cpu()
        print(boxes)
        return helper(boxes), host

    def step(self, x: torch.Tensor):
        torch.cuda.synchronize()
        return x.cpu(), x.cpu()
"#;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.py"), MODEL).unwrap();
    std::fs::write(
        dir.path().join("util.py"),
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.numpy()\n",
    )
    .unwrap();
    d2h(dir.path())
        .args(["audit", ".", "--write-baseline", "d2h-baseline.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty())
        .stderr("d2h: wrote 7 findings to d2h-baseline.json\n");
    dir
}

fn with_baseline(dir: &Path) -> (Value, i32) {
    let out = d2h(dir)
        .args(["audit", ".", "--baseline", "d2h-baseline.json", "--format", "json"])
        .output()
        .unwrap();
    (serde_json::from_slice(&out.stdout).unwrap(), out.status.code().unwrap())
}

fn edit(dir: &Path, file: &str, change: impl Fn(&str) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(&text)).unwrap();
}

#[test]
fn the_baseline_file_is_deterministic_and_readable() {
    let dir = repo();
    let first = std::fs::read_to_string(dir.path().join("d2h-baseline.json")).unwrap();
    d2h(dir.path())
        .args(["audit", ".", "--write-baseline", "again.json", "--threads", "1"])
        .assert()
        .code(0);
    let second = std::fs::read_to_string(dir.path().join("again.json")).unwrap();
    assert_eq!(first, second);
    let baseline: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(baseline["schema"], "d2h-baseline/1");
    let entries = baseline["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    let mut keys: Vec<&str> = entries[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "file", "fingerprint", "rule", "symbol"]);
    assert_eq!(entries[0]["file"], "model.py");
    assert_eq!(entries[0]["symbol"], "Tracker.forward");
    assert_eq!(entries[0]["code"], "boxes.cpu()");
}

#[test]
fn a_baseline_hides_and_ungates_what_it_lists() {
    let dir = repo();
    d2h(dir.path()).args(["audit", ".", "--quiet"]).assert().code(1);
    let (report, code) = with_baseline(dir.path());
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["total"], 0);
    assert_eq!(report["baseline"]["file"], "d2h-baseline.json");
    assert_eq!(report["baseline"]["suppressed"], 7);
    assert_eq!(report["baseline"]["fixed"], Value::Array(Vec::new()));
    // The text report ends with the baseline's section.
    d2h(dir.path())
        .args(["audit", ".", "--baseline", "d2h-baseline.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(
            "\nBaseline d2h-baseline.json: 7 known findings hidden, none fixed.\n",
        ));
    // The CI gate of the README.
    d2h(dir.path())
        .args([
            "audit",
            ".",
            "--max-critical",
            "0",
            "--baseline",
            "d2h-baseline.json",
            "--quiet",
        ])
        .assert()
        .code(0);
    // Without --baseline, the JSON has no `baseline` object.
    let out = d2h(dir.path())
        .args(["audit", ".", "--format", "json"])
        .output()
        .unwrap();
    let plain: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plain.get("baseline").is_none());
}

#[test]
fn inserting_lines_above_keeps_every_finding_hidden() {
    let dir = repo();
    edit(dir.path(), "model.py", |t| {
        t.replacen(
            "import torch\n",
            "\"\"\"Tracking.\"\"\"\nimport os\nimport torch\n\nLIMIT = 3\n",
            1,
        )
    });
    let (report, code) = with_baseline(dir.path());
    assert_eq!((report["summary"]["total"].as_u64(), code), (Some(0), 0), "{report}");
}

#[test]
fn reindenting_a_class_body_keeps_every_finding_hidden() {
    let dir = repo();
    edit(dir.path(), "model.py", |t| {
        let (head, class) = t.split_at(t.find("class Tracker").unwrap());
        let class: String = class
            .lines()
            .map(|line| match line.strip_prefix("    ") {
                // Four spaces to two: every line of the body moves left.
                Some(rest) => format!("  {}\n", rest.replace("    ", "  ")),
                None => format!("{line}\n"),
            })
            .collect();
        format!("{head}{class}")
    });
    let text = std::fs::read_to_string(dir.path().join("model.py")).unwrap();
    assert!(
        text.contains("\n  def forward(self, x: torch.Tensor):\n    boxes"),
        "{text}"
    );
    let (report, code) = with_baseline(dir.path());
    assert_eq!((report["summary"]["total"].as_u64(), code), (Some(0), 0), "{report}");
}

#[test]
fn moving_a_function_below_another_keeps_every_finding_hidden() {
    let dir = repo();
    edit(dir.path(), "model.py", |t| {
        let helper = "def helper(t: torch.Tensor):\n    return t.max().item()\n\n\n";
        format!("{}\n\n{}", t.replacen(helper, "", 1), helper.trim_end())
    });
    let text = std::fs::read_to_string(dir.path().join("model.py")).unwrap();
    assert!(text.find("def helper").unwrap() > text.find("class Tracker").unwrap());
    let (report, code) = with_baseline(dir.path());
    assert_eq!((report["summary"]["total"].as_u64(), code), (Some(0), 0), "{report}");
}

#[test]
fn a_new_site_appears_and_fails_the_gate() {
    let dir = repo();
    edit(dir.path(), "model.py", |t| {
        t.replacen(
            "        print(boxes)\n",
            "        print(boxes)\n        n = boxes.sum().item()\n",
            1,
        )
    });
    let (report, code) = with_baseline(dir.path());
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["total"], 1);
    assert_eq!(report["findings"][0]["code"], "boxes.sum().item()");
    assert_eq!(report["baseline"]["suppressed"], 7);
    // A second copy of an identical site is new too (occurrence index).
    let dir = repo();
    edit(dir.path(), "model.py", |t| {
        t.replacen(
            "        host = boxes.cpu()\n",
            "        host = boxes.cpu()\n        again = boxes.cpu()\n",
            1,
        )
    });
    let (report, _) = with_baseline(dir.path());
    assert_eq!(report["summary"]["total"], 1);
    assert_eq!(report["findings"][0]["line"], 12);
}

#[test]
fn fixed_entries_are_listed() {
    let dir = repo();
    edit(dir.path(), "model.py", |t| t.replacen("        print(boxes)\n", "", 1));
    let (report, code) = with_baseline(dir.path());
    assert_eq!(code, 0);
    let fixed = report["baseline"]["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0]["rule"], "D2H005");
    assert_eq!(fixed[0]["symbol"], "Tracker.forward");
    assert_eq!(report["baseline"]["suppressed"], 6);
    d2h(dir.path())
        .args(["audit", ".", "--baseline", "d2h-baseline.json", "--format", "concise"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Baseline d2h-baseline.json: 6 known findings hidden; 1 entry fixed (rewrite it with --write-baseline to drop them):\n  model.py: D2H005 in `Tracker.forward`: boxes\n",
        ));
}

#[test]
fn an_audit_of_some_files_lists_fixed_entries_of_those_files_only() {
    let dir = repo();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    edit(dir.path(), "util.py", |t| t.replace("x.numpy()", "x"));
    let out = d2h(dir.path())
        .args([
            "audit",
            "model.py",
            "--baseline",
            "d2h-baseline.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["baseline"]["fixed"], Value::Array(Vec::new()));
    assert_eq!(report["baseline"]["suppressed"], 6);
    let out = d2h(dir.path())
        .args([
            "audit",
            "util.py",
            "--baseline",
            "d2h-baseline.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["baseline"]["fixed"].as_array().unwrap().len(), 1);
}

#[test]
fn a_bad_baseline_is_a_usage_error() {
    let dir = repo();
    d2h(dir.path())
        .args(["audit", ".", "--baseline", "missing.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read baseline missing.json"));
    std::fs::write(dir.path().join("bad.json"), "{\"schema\": \"d2h-report/1\"}").unwrap();
    d2h(dir.path())
        .args(["audit", ".", "--baseline", "bad.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported baseline schema `d2h-report/1`"));
}
