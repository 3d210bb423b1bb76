//! Configuration end to end: one CLI test per key of `[tool.d2h]` / `d2h.toml`,
//! discovery and `--config`, errors that name the file and the key, `d2h config`,
//! explicit file lists resolved in their project, `--statistics`, and a run on a
//! small realistic repository configured through pyproject.toml.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn d2h(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A project with one hot function of each kind of site used below.
const MODEL: &str = "\
import torch


class Detector(torch.nn.Module):
    def forward(self, x: torch.Tensor):
        y = x.sigmoid()
        a = y.cpu()
        b = y.sum().item()
        print(y)
        return y

    def run_frame(self, x: torch.Tensor):
        return x.cpu()
";

fn project(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.py", MODEL);
    if let Some(config) = config {
        write(dir.path(), "d2h.toml", config);
    }
    dir
}

/// The JSON report of `d2h audit ARGS` in `dir`.
fn report(dir: &Path, args: &[&str]) -> Value {
    let out = d2h(dir)
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (line, rule, severity) of each finding.
fn sites(report: &Value) -> Vec<(u64, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn site(line: u64, rule: &str, severity: &str) -> (u64, String, String) {
    (line, rule.to_string(), severity.to_string())
}

#[test]
fn without_configuration_the_defaults_hold() {
    let dir = project(None);
    assert_eq!(
        sites(&report(dir.path(), &["."])),
        vec![
            site(7, "D2H001", "critical"),
            site(8, "D2H002", "critical"),
            site(9, "D2H005", "critical"),
            site(13, "D2H001", "medium"),
        ]
    );
}

#[test]
fn select_keeps_only_the_selected_rules() {
    let dir = project(Some("select = [\"D2H001\"]\n"));
    let rules: Vec<String> = sites(&report(dir.path(), &["."])).into_iter().map(|s| s.1).collect();
    assert_eq!(rules, vec!["D2H001", "D2H001"]);
}

#[test]
fn ignore_drops_rules_by_code_prefix_or_name() {
    let dir = project(Some("ignore = [\"D2H00\"]\n"));
    assert!(sites(&report(dir.path(), &["."])).is_empty());
    let dir = project(Some("ignore = [\"host-format\", \"D2H002\"]\n"));
    let rules: Vec<String> = sites(&report(dir.path(), &["."])).into_iter().map(|s| s.1).collect();
    assert_eq!(rules, vec!["D2H001", "D2H001"]);
}

#[test]
fn severity_overrides_a_rule_and_says_so() {
    let dir = project(Some("[severity]\nD2H005 = \"low\"\n"));
    let r = report(dir.path(), &["."]);
    assert!(sites(&r).contains(&site(9, "D2H005", "low")));
    let reason = r["findings"][2]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("low by `severity.D2H005` in the configuration; otherwise critical"),
        "{reason}"
    );
}

#[test]
fn hot_functions_replace_the_hot_roots() {
    let dir = project(Some("hot-functions = [\"run_*\"]\n"));
    assert_eq!(
        sites(&report(dir.path(), &["."])),
        vec![
            site(7, "D2H001", "medium"),
            site(8, "D2H002", "medium"),
            site(9, "D2H005", "medium"),
            site(13, "D2H001", "critical"),
        ]
    );
}

#[test]
fn extend_hot_functions_adds_hot_roots() {
    let dir = project(Some("extend-hot-functions = [\"run_frame\"]\n"));
    let found = sites(&report(dir.path(), &["."]));
    assert!(found.contains(&site(7, "D2H001", "critical")));
    assert!(found.contains(&site(13, "D2H001", "critical")));
}

#[test]
fn guard_names_mark_debug_flags() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "model.py",
        "import torch\n\n\ndef forward(x: torch.Tensor, trace_on=False):\n    if trace_on:\n        print(x)\n    return x\n",
    );
    assert_eq!(sites(&report(dir.path(), &["."])), vec![site(6, "D2H005", "critical")]);
    write(dir.path(), "d2h.toml", "guard-names = [\"trace_on\"]\n");
    let r = report(dir.path(), &["."]);
    assert_eq!(sites(&r), vec![site(6, "D2H005", "low")]);
    assert!(r["findings"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("guarded by `trace_on`"));
}

#[test]
fn cold_paths_make_findings_low() {
    let dir = project(Some("cold-paths = [\"scripts/**\"]\n"));
    write(dir.path(), "scripts/export.py", MODEL);
    let r = report(dir.path(), &["."]);
    let in_scripts: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"] == "scripts/export.py")
        .collect();
    assert_eq!(in_scripts.len(), 4);
    assert!(in_scripts.iter().all(|f| f["severity"] == "low"));
    assert!(in_scripts[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("in a cold path (`scripts/**` in `cold-paths`); otherwise critical"));
    assert_eq!(r["summary"]["critical"], 3, "model.py keeps its severities");
}

#[test]
fn per_file_ignores_turn_rules_off_in_matching_files() {
    let dir = project(Some("[per-file-ignores]\n\"legacy/*.py\" = [\"D2H001\", \"D2H005\"]\n"));
    write(dir.path(), "legacy/old.py", MODEL);
    let r = report(dir.path(), &["."]);
    let legacy: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"] == "legacy/old.py")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(legacy, vec!["D2H002"]);
}

#[test]
fn exclude_replaces_and_extend_exclude_adds_to_the_defaults() {
    let dir = project(None);
    write(dir.path(), "build/gen.py", MODEL);
    write(dir.path(), "vendor/lib.py", MODEL);
    // `build` is excluded by default.
    assert_eq!(report(dir.path(), &["."])["summary"]["files_scanned"], 2);
    write(dir.path(), "d2h.toml", "extend-exclude = [\"vendor\"]\n");
    assert_eq!(report(dir.path(), &["."])["summary"]["files_scanned"], 1);
    write(dir.path(), "d2h.toml", "exclude = [\"vendor/lib.py\"]\n");
    let r = report(dir.path(), &["."]);
    assert_eq!(
        r["summary"]["files_scanned"], 2,
        "build/ is audited once exclude replaces the defaults"
    );
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["file"] == "build/gen.py"));
}

#[test]
fn transfer_functions_are_copies_at_their_call_sites() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pkg/utils.py",
        "def to_numpy(t):\n    return t.detach().cpu().numpy()\n",
    );
    write(
        dir.path(),
        "pkg/model.py",
        "import torch\nfrom pkg import utils\nfrom pkg.utils import to_numpy\n\n\ndef forward(x: torch.Tensor):\n    a = to_numpy(x)\n    b = utils.to_numpy(x)\n    return x\n",
    );
    let calls = |r: &Value| -> Vec<(u64, String)> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["file"] == "pkg/model.py")
            .map(|f| (f["line"].as_u64().unwrap(), f["severity"].as_str().unwrap().to_string()))
            .collect()
    };
    assert!(calls(&report(dir.path(), &["."])).is_empty());
    write(dir.path(), "d2h.toml", "transfer-functions = [\"utils.to_numpy\"]\n");
    let r = report(dir.path(), &["."]);
    assert_eq!(
        calls(&r),
        vec![(7, "critical".to_string()), (8, "critical".to_string())]
    );
    let model: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"] == "pkg/model.py")
        .collect();
    assert_eq!(model[0]["rule"], "D2H001");
    assert_eq!(model[0]["code"], "to_numpy(x)");
    assert!(model[0]["reason"]
        .as_str()
        .unwrap()
        .contains("calls `utils.to_numpy`, a transfer function of the configuration"));
}

/// A table names each transfer function's rule, and Rust methods by their
/// type (`Gate::fetch`): each call is a site of that rule at the caller.
#[test]
fn transfer_functions_as_a_table_name_rust_methods_and_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/gate.rs",
        "use candle_core::Tensor;\n\npub struct Gate;\n\nimpl Gate {\n    pub fn fetch(&self, t: &Tensor, what: &str) -> Vec<f32> {\n        t.to_vec1::<f32>().unwrap() // d2h: ignore[D2H001] the gate's own read\n    }\n    pub fn wait(&self, what: &str) {}\n}\n",
    );
    write(
        dir.path(),
        "src/model.rs",
        "use candle_core::Tensor;\nuse crate::gate::Gate;\n\npub struct Model {\n    gate: Gate,\n}\n\nimpl Model {\n    pub fn forward(&self, x: &Tensor) -> Tensor {\n        let v = self.gate.fetch(x, \"scores\");\n        self.gate.wait(\"frame\");\n        x.clone()\n    }\n}\n",
    );
    write(dir.path(), "src/lib.rs", "pub mod gate;\npub mod model;\n");
    write(
        dir.path(),
        "d2h.toml",
        "[transfer-functions]\n\"Gate::fetch\" = \"D2H001\"\n\"Gate::wait\" = \"explicit-sync\"\n",
    );
    let r = report(dir.path(), &["."]);
    let found: Vec<(String, u64, String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let at = |line: u64, rule: &str| {
        (
            "src/model.rs".to_string(),
            line,
            rule.to_string(),
            "critical".to_string(),
        )
    };
    assert_eq!(found, vec![at(10, "D2H001"), at(11, "D2H004")], "{r:#}");
    assert_eq!(r["summary"]["suppressed"], 1);
    assert_eq!(r["suppressed"][0]["file"], "src/gate.rs");
    assert_eq!(
        r["suppressed"][0]["suppression"]["justification"],
        "the gate's own read"
    );
    // `d2h config` prints the table back.
    let out = d2h(dir.path()).arg("config").output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains("[transfer-functions]\n\"Gate::fetch\" = \"D2H001\"\n\"Gate::wait\" = \"D2H004\"\n"),
        "{printed}"
    );
}

#[test]
fn require_reason_reports_suppressions_without_one() {
    let source = MODEL
        .replace("a = y.cpu()", "a = y.cpu()  # d2h: ignore[D2H001]")
        .replace(
            "b = y.sum().item()",
            "b = y.sum().item()  # d2h: ignore[D2H002] shown in the UI",
        );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.py", &source);
    let without = sites(&report(dir.path(), &["."]));
    assert!(!without.iter().any(|s| s.1 == "D2H902"));
    write(dir.path(), "d2h.toml", "require-reason = true\n");
    let with = sites(&report(dir.path(), &["."]));
    assert_eq!(
        with.iter().filter(|s| s.1 == "D2H902").collect::<Vec<_>>(),
        vec![&site(7, "D2H902", "medium")]
    );
}

#[test]
fn pyproject_tool_d2h_is_found_walking_up_and_d2h_toml_wins() {
    let dir = project(None);
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.d2h]\nselect = [\"D2H002\"]\n",
    );
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    // Discovered from a subdirectory, for the path given.
    let from_sub = report(&dir.path().join("sub"), &[".."]);
    assert_eq!(sites(&from_sub), vec![site(8, "D2H002", "critical")]);
    // A d2h.toml next to it wins.
    write(dir.path(), "d2h.toml", "select = [\"D2H005\"]\n");
    assert_eq!(sites(&report(dir.path(), &["."])), vec![site(9, "D2H005", "critical")]);
    // A pyproject.toml without [tool.d2h] is passed over.
    let plain = project(None);
    write(plain.path(), "pyproject.toml", "[project]\nname = \"y\"\n");
    assert_eq!(sites(&report(plain.path(), &["."])).len(), 4);
}

#[test]
fn config_flag_overrides_discovery() {
    let dir = project(Some("select = [\"D2H005\"]\n"));
    write(dir.path(), "ci/strict.toml", "select = [\"D2H002\"]\n");
    let r = report(dir.path(), &[".", "--config", "ci/strict.toml"]);
    assert_eq!(sites(&r), vec![site(8, "D2H002", "critical")]);
    // A pyproject.toml named with --config is read from its [tool.d2h].
    write(dir.path(), "ci/pyproject.toml", "[tool.d2h]\nselect = [\"D2H001\"]\n");
    let r = report(dir.path(), &[".", "--config", "ci/pyproject.toml"]);
    assert_eq!(sites(&r).len(), 2);
    d2h(dir.path())
        .args(["audit", ".", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml: cannot read"));
}

#[test]
fn unknown_keys_are_errors_that_name_the_file_and_suggest() {
    let dir = project(None);
    write(dir.path(), "pyproject.toml", "[tool.d2h]\nhot-function = [\"run\"]\n");
    d2h(dir.path())
        .args(["audit", "."])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr("d2h: error: pyproject.toml: [tool.d2h] unknown key `hot-function` (did you mean `hot-functions`?)\n");
    write(dir.path(), "d2h.toml", "colour = true\n");
    d2h(dir.path())
        .args(["audit", "."])
        .assert()
        .code(2)
        .stderr("d2h: error: d2h.toml: unknown key `colour`\n");
}

#[test]
fn bad_values_are_errors_that_name_the_key() {
    let cases = [
        (
            "select = \"D2H001\"",
            "d2h.toml: `select`: expected an array of strings, found \"D2H001\"",
        ),
        ("ignore = [\"E501\"]", "d2h.toml: `ignore`: `E501` is not a rule code"),
        (
            "[severity]\nD2H001 = \"high\"",
            "d2h.toml: `severity.D2H001`: expected \"critical\", \"medium\" or \"low\", found \"high\"",
        ),
        (
            "require-reason = 1",
            "d2h.toml: `require-reason`: expected a boolean, found integer 1",
        ),
        ("cold-paths = [\"[\"]", "d2h.toml: `cold-paths`: invalid glob `[`"),
        ("select = [", "d2h.toml: invalid TOML"),
    ];
    for (text, message) in cases {
        let dir = project(Some(text));
        d2h(dir.path())
            .args(["audit", "."])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("d2h: error: {message}")));
    }
}

#[test]
fn d2h_config_prints_the_effective_configuration() {
    let dir = project(None);
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.d2h]\nignore = [\"D2H007\"]\nextend-hot-functions = [\"run_frame\"]\n[tool.d2h.severity]\nD2H005 = \"low\"\n",
    );
    let out = d2h(dir.path())
        .arg("config")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("# d2h configuration in effect, from pyproject.toml [tool.d2h]\n"),
        "{text}"
    );
    assert!(text.contains("ignore = [\"D2H007\"]\n"), "{text}");
    assert!(text.contains("\"predict*\""), "built-in hot roots are listed: {text}");
    assert!(text.contains("\"run_frame\"]"), "{text}");
    assert!(text.contains("[severity]\nD2H005 = \"low\"\n"), "{text}");
    // The printed configuration, used as a d2h.toml, audits the same.
    write(dir.path(), "effective.toml", &text);
    let original = report(dir.path(), &["."]);
    let again = report(dir.path(), &[".", "--config", "effective.toml"]);
    assert_eq!(sites(&original), sites(&again));
    // Errors exit 2 there too.
    write(dir.path(), "d2h.toml", "selec = []\n");
    d2h(dir.path())
        .arg("config")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown key `selec` (did you mean `select`?)"));
}

#[test]
fn explicit_files_are_judged_in_their_project_and_reported_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", "[project]\nname = \"p\"\n");
    write(
        dir.path(),
        "pkg/helpers.py",
        "import torch\n\n\ndef score(t: torch.Tensor):\n    return t.max().item()\n",
    );
    write(
        dir.path(),
        "pkg/model.py",
        "import torch\nfrom pkg.helpers import score\n\n\ndef forward(x: torch.Tensor):\n    return score(x)\n",
    );
    // Alone, in a plain directory, the helper is per-call code...
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("pkg/helpers.py"), alone.path().join("helpers.py")).unwrap();
    assert_eq!(
        sites(&report(alone.path(), &["helpers.py"])),
        vec![site(5, "D2H002", "medium")]
    );
    // ...named inside its project it is reached from `forward`, and only it is reported.
    let r = report(dir.path(), &["pkg/helpers.py"]);
    assert_eq!(sites(&r), vec![site(5, "D2H002", "critical")]);
    assert_eq!(r["findings"][0]["file"], "pkg/helpers.py");
    assert_eq!(r["root"], ".");
    assert_eq!(r["summary"]["files_scanned"], 1);
    // From a subdirectory the root is named relative to it.
    let r = report(&dir.path().join("pkg"), &["helpers.py", "model.py"]);
    assert_eq!(r["root"], "..");
    assert_eq!(r["summary"]["files_scanned"], 2);
}

#[test]
fn statistics_count_findings_per_rule() {
    let dir = project(None);
    let out = d2h(dir.path())
        .args(["audit", ".", "--statistics"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["count", "code", "name", "critical", "medium", "low"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["2", "D2H001", "explicit-copy", "1", "1", "0"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["1", "D2H002", "scalar-read", "1", "0", "0"]
    );
    assert_eq!(
        lines[4].split_whitespace().collect::<Vec<_>>(),
        ["4", "total", "3", "1", "0"]
    );
    let out = d2h(dir.path())
        .args(["audit", ".", "--statistics", "--format", "json"])
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["code"], "D2H001");
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(rows.as_array().unwrap().len(), 3);
}

/// A small, realistic repository configured through pyproject.toml: every
/// documented behaviour at once.
#[test]
fn a_repository_configured_through_pyproject_behaves_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "pyproject.toml",
        r#"[project]
name = "tracker"
version = "0.1.0"

[tool.ruff]
line-length = 100

[tool.d2h]
extend-hot-functions = ["run_frame"]
guard-names = ["trace_on"]
cold-paths = ["scripts"]
transfer-functions = ["pkg.utils.to_numpy"]
require-reason = true
ignore = ["D2H007"]

[tool.d2h.severity]
D2H004 = "critical"

[tool.d2h.per-file-ignores]
"tests/**" = ["D2H001"]
"#,
    );
    write(root, "pkg/__init__.py", "");
    write(
        root,
        "pkg/utils.py",
        "import torch\n\n\ndef to_numpy(t):\n    return t.detach().cpu().numpy()\n\n\ndef summarize(t: torch.Tensor):\n    total = t.sum().item()\n    return total\n\n\ndef wait():\n    torch.cuda.synchronize()\n",
    );
    write(
        root,
        "pkg/model.py",
        r#"import torch

from pkg.utils import summarize, to_numpy


class Detector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trace_on = False

    def forward(self, x: torch.Tensor):
        scores = x.sigmoid()
        boxes = to_numpy(scores)
        if self.trace_on:
            print(scores)
        summarize(scores)
        keep = scores.item()  # d2h: ignore[D2H002] one scalar per frame for the UI
        host = scores.cpu()  # noqa: D2H001
        return scores

    def run_frame(self, x: torch.Tensor):
        y = x * 2
        return y.tolist()
"#,
    );
    write(
        root,
        "scripts/export.py",
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.cpu()\n",
    );
    write(
        root,
        "tests/test_model.py",
        "import torch\n\n\ndef test_forward():\n    x = torch.ones(2, device=\"cuda\")\n    assert x.cpu().sum() == 2\n",
    );
    write(
        root,
        "build/generated.py",
        "import torch\n\n\ndef forward(x):\n    return x.cpu()\n",
    );

    let r = report(root, &[]);
    let found: Vec<(String, u64, String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        // transfer-functions: the helper's call is a copy, hot in `forward`.
        ("pkg/model.py", 13, "D2H001", "critical"),
        // guard-names: `self.trace_on` guards the print.
        ("pkg/model.py", 15, "D2H005", "low"),
        // require-reason: the noqa suppresses line 18's copy but gives no reason.
        ("pkg/model.py", 18, "D2H902", "medium"),
        // extend-hot-functions: `run_frame` is a hot root.
        ("pkg/model.py", 23, "D2H001", "critical"),
        // The helper's own body is per-call code (no call edge through a transfer function).
        ("pkg/utils.py", 5, "D2H001", "medium"),
        // Reached from `Detector.forward` through the project's call graph.
        ("pkg/utils.py", 9, "D2H002", "critical"),
        // severity: D2H004 forced to critical.
        ("pkg/utils.py", 14, "D2H004", "critical"),
        // cold-paths: scripts/ is low even in a `forward`.
        ("scripts/export.py", 5, "D2H001", "low"),
    ];
    let expected: Vec<(String, u64, String, String)> = expected
        .iter()
        .map(|(f, l, r, s)| (f.to_string(), *l, r.to_string(), s.to_string()))
        .collect();
    assert_eq!(found, expected);
    // exclude (default): build/ is not audited; per-file-ignores: the test's copy is off; the
    // suppressed `.item()` and `.cpu()` are gone; D2H007 (the upload in the test) is ignored.
    assert_eq!(r["summary"]["files_scanned"], 5);
    // The gate counts what is left: 4 critical.
    d2h(root)
        .args(["audit", "--quiet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("4 critical findings"));
    // pre-commit style: only the staged file is reported, judged in its project.
    let staged = report(root, &["pkg/utils.py"]);
    assert_eq!(staged["summary"]["total"], 3);
    assert_eq!(staged["findings"][1]["severity"], "critical");
}

#[test]
fn min_confidence_drops_less_sure_findings_before_the_gate() {
    // `helper` is reached from `forward` with an unknown value: its `.item()`
    // is critical (its context) and only possible (its receiver).
    let source = format!("{MODEL}\n\ndef helper(v):\n    return v.item()\n\n\ndef forward(v):\n    return helper(v)\n");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.py", &source);
    let all = report(dir.path(), &["."]);
    let possible: Vec<&Value> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["confidence"] == "possible")
        .collect();
    assert_eq!(possible.len(), 1, "{all:#}");
    assert_eq!(possible[0]["severity"], "critical", "{all:#}");
    let total = all["summary"]["total"].as_u64().unwrap();
    let critical = all["summary"]["critical"].as_u64().unwrap();
    // The flag, then the key: the possible finding is neither listed nor counted.
    let certain = report(dir.path(), &[".", "--min-confidence", "certain"]);
    assert_eq!(certain["summary"]["total"].as_u64().unwrap(), total - 1);
    assert_eq!(certain["summary"]["critical"].as_u64().unwrap(), critical - 1);
    write(dir.path(), "d2h.toml", "min-confidence = \"likely\"\n");
    let likely = report(dir.path(), &["."]);
    assert_eq!(likely["summary"]["total"].as_u64().unwrap(), total - 1);
    // The flag wins over the key; the fingerprints do not depend on either.
    let again = report(dir.path(), &[".", "--min-confidence", "possible"]);
    assert_eq!(again["findings"], all["findings"]);
    let out = d2h(dir.path()).arg("config").output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("\nmin-confidence = \"likely\"\n"), "{printed}");
}
