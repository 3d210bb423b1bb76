//! Suppression comments end to end: `# d2h: ignore[...] reason` on the line or
//! above the statement, `# d2h: ignore-file[...]`, `# noqa: D2H00x` and bare
//! `# noqa`, unused suppressions (D2H901) and `require-reason` (D2H902).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn d2h(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

/// (line, rule, severity) of each finding of `d2h audit` on one file `m.py`.
fn audit_source(source: &str, config: Option<&str>) -> (Vec<(u64, String, String)>, Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), source).unwrap();
    if let Some(config) = config {
        std::fs::write(dir.path().join("d2h.toml"), config).unwrap();
    }
    let out = d2h(dir.path())
        .args(["audit", ".", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites = report["findings"]
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
        .collect();
    (sites, report, out.status.code().unwrap())
}

fn site(line: u64, rule: &str, severity: &str) -> (u64, String, String) {
    (line, rule.to_string(), severity.to_string())
}

const HEAD: &str = "import torch\n\n\ndef forward(x: torch.Tensor):\n";

#[test]
fn a_trailing_suppression_silences_its_rule_on_its_line_only() {
    let source = format!(
        "{HEAD}    a = x.cpu()  # d2h: ignore[D2H001] the caller wants host boxes\n    b = x.cpu()\n    print(x.cpu())  # d2h: ignore[D2H005] debug print\n    return a\n"
    );
    let (sites, _, code) = audit_source(&source, None);
    // Line 7 prints a host copy: its site is a D2H001, so the D2H005 suppression is unused.
    assert_eq!(
        sites,
        vec![
            site(6, "D2H001", "critical"),
            site(7, "D2H001", "critical"),
            site(7, "D2H901", "low")
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn an_own_line_suppression_covers_the_statement_below() {
    let source = format!(
        "{HEAD}    # d2h: ignore[D2H001] exported once per clip\n    # (the exporter wants numpy)\n    out = dict(\n        boxes=x.cpu(),\n        scores=x.cpu(),\n    )\n    y = x.cpu()\n    return out, y\n"
    );
    let (sites, _, _) = audit_source(&source, None);
    assert_eq!(sites, vec![site(11, "D2H001", "critical")]);
}

#[test]
fn an_own_line_suppression_inside_brackets_covers_the_next_line() {
    let source = format!(
        "{HEAD}    out = dict(\n        # d2h: ignore[D2H001] why\n        boxes=x.cpu(),\n        scores=x.cpu(),\n    )\n    return out\n"
    );
    let (sites, _, _) = audit_source(&source, None);
    assert_eq!(sites, vec![site(8, "D2H001", "critical")]);
}

#[test]
fn file_suppressions_cover_their_rules_everywhere_in_the_file() {
    let source = format!(
        "# d2h: ignore-file[D2H001,D2H005] a debugging script\n{HEAD}    print(x)\n    a = x.cpu()\n    return x.sum().item()\n"
    );
    let (sites, _, _) = audit_source(&source, None);
    assert_eq!(sites, vec![site(8, "D2H002", "critical")]);
}

#[test]
fn noqa_with_codes_and_bare_noqa_are_honoured() {
    let source = format!(
        "{HEAD}    a = x.cpu()  # noqa: D2H001\n    b = x.sum().item()  # noqa: E501, D2H002\n    c = x.cpu()  # noqa\n    d = x.cpu()  # noqa: E501\n    return a\n"
    );
    let (sites, _, _) = audit_source(&source, None);
    assert_eq!(sites, vec![site(8, "D2H001", "critical")]);
}

#[test]
fn a_hash_in_a_string_is_not_a_suppression() {
    let source = format!("{HEAD}    a = (x.cpu(), \"# d2h: ignore[D2H001] no\")\n    return a\n");
    let (sites, _, _) = audit_source(&source, None);
    assert_eq!(sites, vec![site(5, "D2H001", "critical")]);
}

#[test]
fn unused_suppressions_are_low_findings_that_name_what_is_unused() {
    let source = format!(
        "{HEAD}    a = x + 1  # d2h: ignore[D2H001] stale\n    b = x.cpu()  # d2h: ignore[D2H001,D2H002] half used\n    c = x + 2  # noqa: D2H005\n    d = x + 3  # d2h: ignore[D2H123] typo\n    e = x + 4  # noqa\n    return a\n"
    );
    let (sites, report, code) = audit_source(&source, None);
    assert_eq!(
        sites,
        vec![
            site(5, "D2H901", "low"),
            site(6, "D2H901", "low"),
            site(7, "D2H901", "low"),
            site(8, "D2H901", "low"),
        ],
        "a bare noqa may be another tool's: never reported"
    );
    let reasons: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons[0],
        "unused suppression: no D2H001 finding on the lines it covers"
    );
    assert_eq!(
        reasons[1],
        "unused suppression: no D2H002 finding on the lines it covers"
    );
    assert_eq!(reasons[3], "unused suppression: `D2H123` is not a rule");
    assert_eq!(report["findings"][0]["code"], "# d2h: ignore[D2H001] stale");
    assert_eq!(report["findings"][0]["column"], 16);
    // Low findings do not fail the default gate.
    assert_eq!(code, 0);
    // Turned off like any rule.
    let (sites, _, _) = audit_source(&source, Some("ignore = [\"D2H901\"]\n"));
    assert!(sites.is_empty(), "{sites:?}");
}

#[test]
fn require_reason_makes_reasonless_suppressions_medium_findings() {
    let source = format!(
        "{HEAD}    a = x.cpu()  # d2h: ignore[D2H001]\n    b = x.cpu()  # d2h: ignore[D2H001] -- the UI wants it\n    c = x.cpu()  # noqa: D2H001\n    d = x.cpu()  # noqa\n    e = x + 1  # noqa\n    return a\n"
    );
    let (sites, report, _) = audit_source(&source, Some("require-reason = true\n"));
    assert_eq!(
        sites,
        vec![
            site(5, "D2H902", "medium"),
            site(7, "D2H902", "medium"),
            site(8, "D2H902", "medium")
        ]
    );
    assert!(report["findings"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("suppression without a reason"));
    // --fail-on medium makes them blocking.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), &source).unwrap();
    std::fs::write(dir.path().join("d2h.toml"), "require-reason = true\n").unwrap();
    d2h(dir.path()).args(["audit", ".", "--quiet"]).assert().code(0);
    d2h(dir.path())
        .args(["audit", ".", "--quiet", "--fail-on", "medium"])
        .assert()
        .code(1);
}

#[test]
fn suppressions_of_rules_that_are_off_are_not_unused() {
    let source = format!("{HEAD}    print(x)  # d2h: ignore[D2H005] why\n    return x\n");
    let (sites, _, _) = audit_source(&source, Some("ignore = [\"D2H005\"]\n"));
    assert!(sites.is_empty(), "{sites:?}");
}

#[test]
fn rust_files_use_line_comments() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("head.rs"),
        r#"use candle_core::{Module, Tensor};

pub struct Head {
    proj: candle_nn::Linear,
}

impl Head {
    pub fn forward(&self, t: &Tensor) -> candle_core::Result<Vec<f32>> {
        let a = t.to_vec1::<f32>()?; // d2h: ignore[D2H001] the caller renders these
        let s = "// d2h: ignore[D2H001] in a string";
        let b = t.to_vec1::<f32>()?;
        // d2h: ignore[D2H001] stale
        let c = 1;
        Ok(a)
    }
}
"#,
    )
    .unwrap();
    let out = d2h(dir.path())
        .args(["audit", ".", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites: Vec<(u64, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["line"].as_u64().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(sites, vec![(11, "D2H001"), (12, "D2H901")], "{report}");
}

/// A suppressed finding is still in the JSON report, under `suppressed`, with
/// its real severity and the comment's reason; it is neither counted nor
/// gated, and SARIF marks it suppressed in the source.
#[test]
fn suppressed_findings_stay_in_the_report_outside_the_gate() {
    let source = format!(
        "{HEAD}    # d2h: ignore[D2H001] the exporter wants numpy, once per clip\n    a = x.cpu()\n    b = x.sum().item()  # noqa: D2H002\n    return a\n"
    );
    let (sites, report, code) = audit_source(&source, None);
    assert!(sites.is_empty(), "{sites:?}");
    assert_eq!(code, 0, "suppressed findings do not fail the gate");
    assert_eq!(report["summary"]["critical"], 0);
    assert_eq!(report["summary"]["suppressed"], 2);
    let suppressed = report["suppressed"].as_array().unwrap();
    let kept: Vec<(u64, &str, &str, Option<&str>, u64)> = suppressed
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["suppression"]["justification"].as_str(),
                f["suppression"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            (
                6,
                "D2H001",
                "critical",
                Some("the exporter wants numpy, once per clip"),
                5
            ),
            (7, "D2H002", "critical", None, 7),
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), &source).unwrap();
    let out = d2h(dir.path())
        .args(["audit", ".", "--format", "sarif", "--max-critical", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["suppressions"][0]["kind"] == "inSource"));
    let text = d2h(dir.path()).args(["audit", ".", "--no-color"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("No transfers found in 1 file scanned; 2 findings suppressed in the source (not counted)."),
        "{text}"
    );
}
