//! End-to-end tests of the `d2h` binary: exit codes, output formats, the CI
//! gate, `--output` / `--quiet` / colours, the rule catalog, and snapshots of
//! the concise and markdown reports of the legacy example.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const LEGACY: &str = "examples/legacy-pipeline";
const RESIDENT: &str = "examples/resident-pipeline";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `d2h` run from the workspace root, with colours off by the environment.
fn d2h() -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(root()).env_remove("NO_COLOR");
    cmd
}

/// Finding counts of an example, read from its `# expect: D2H001 critical, ...` comments:
/// the annotated source is the expectation, not a number copied into the test.
#[derive(Debug, Clone, Copy)]
struct Expected {
    total: usize,
    critical: usize,
    medium: usize,
    low: usize,
    files: usize,
}

fn expected(example: &str) -> Expected {
    let mut counts = Expected {
        total: 0,
        critical: 0,
        medium: 0,
        low: 0,
        files: 0,
    };
    for entry in std::fs::read_dir(root().join(example)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        counts.files += 1;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let Some((_, markers)) = line.split_once("# expect:") else {
                continue;
            };
            for marker in markers.split(',') {
                let severity = marker.split_whitespace().nth(1).unwrap_or("");
                counts.total += 1;
                match severity {
                    "critical" => counts.critical += 1,
                    "medium" => counts.medium += 1,
                    "low" => counts.low += 1,
                    other => panic!("bad marker severity {other:?} in {}", path.display()),
                }
            }
        }
    }
    counts
}

impl Expected {
    fn found_line(&self) -> String {
        format!(
            "Found {} transfers ({} critical, {} medium, {} low) in {} files scanned.",
            self.total, self.critical, self.medium, self.low, self.files
        )
    }
}

fn stdout_of(args: &[&str], code: i32) -> String {
    let output = d2h().args(args).assert().code(code).get_output().clone();
    String::from_utf8(output.stdout).unwrap()
}

fn json_of(args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&stdout_of(&all, code)).expect("--format json is JSON")
}

// ------------------------------------------------------------------ the gate

#[test]
fn legacy_fails_the_default_gate() {
    let e = expected(LEGACY);
    assert!(e.critical > 0);
    d2h()
        .args(["audit", LEGACY])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(e.found_line()))
        .stderr(predicate::str::contains(format!(
            "d2h: gate failed: {} critical findings (--fail-on critical)",
            e.critical
        )));
}

#[test]
fn resident_passes_the_default_gate_and_max_critical_zero() {
    d2h().args(["audit", RESIDENT]).assert().code(0);
    d2h()
        .args(["audit", RESIDENT, "--max-critical", "0"])
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
}

#[test]
fn fail_on_medium_or_low_fails_the_resident_pipeline() {
    let e = expected(RESIDENT);
    d2h()
        .args(["audit", RESIDENT, "--fail-on", "medium"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{} medium or worse findings (--fail-on medium)",
            e.critical + e.medium
        )));
    d2h()
        .args(["audit", RESIDENT, "--fail-on", "low"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{} low or worse findings", e.total)));
    d2h()
        .args(["audit", RESIDENT, "--fail-on", "critical"])
        .assert()
        .code(0);
}

#[test]
fn explicit_limits_replace_the_default_gate() {
    let e = expected(LEGACY);
    let critical = e.critical.to_string();
    let one_less = (e.critical - 1).to_string();
    let medium_one_less = (e.medium - 1).to_string();
    d2h()
        .args(["audit", LEGACY, "--max-medium", "1000", "--max-critical", "1000"])
        .assert()
        .code(0);
    d2h()
        .args(["audit", LEGACY, "--max-critical", &critical])
        .assert()
        .code(0);
    d2h()
        .args(["audit", LEGACY, "--max-critical", &one_less])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{critical} critical findings, more than --max-critical {one_less}"
        )));
    d2h()
        .args([
            "audit",
            LEGACY,
            "--max-critical",
            "1000",
            "--max-medium",
            &medium_one_less,
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{} medium findings, more than --max-medium {medium_one_less}",
            e.medium
        )));
    // --fail-on still applies next to a limit.
    d2h()
        .args(["audit", LEGACY, "--max-medium", "1000", "--fail-on", "critical"])
        .assert()
        .code(1);
}

// ------------------------------------------------------------------- formats

#[test]
fn json_report_follows_the_schema() {
    let report = json_of(&["audit", LEGACY], 1);
    assert_eq!(report["schema"], "d2h-report/1");
    assert_eq!(report["origin"], "static");
    assert_eq!(report["tool"]["name"], "d2h");
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["root"], LEGACY);
    let summary = &report["summary"];
    let e = expected(LEGACY);
    assert_eq!(summary["total"], e.total);
    assert_eq!(summary["critical"], e.critical);
    assert_eq!(summary["medium"], e.medium);
    assert_eq!(summary["low"], e.low);
    assert_eq!(summary["files_scanned"], e.files);
    assert_eq!(summary["files_with_errors"], 0);
    assert_eq!(report["errors"], Value::Array(Vec::new()));

    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), e.total);
    let keys: Vec<(String, u64)> = findings
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "findings are not sorted by (file, line)");
    for f in findings {
        for field in [
            "rule",
            "name",
            "severity",
            "file",
            "symbol",
            "code",
            "reason",
            "fingerprint",
        ] {
            assert!(
                f[field].as_str().is_some_and(|s| !s.is_empty()),
                "finding without `{field}`: {f}"
            );
        }
        for field in ["line", "column", "end_line", "end_column"] {
            assert!(f[field].as_u64().is_some_and(|n| n >= 1), "bad `{field}`: {f}");
        }
        assert!(["critical", "medium", "low"].contains(&f["severity"].as_str().unwrap()));
        assert!(f["rule"].as_str().unwrap().starts_with("D2H"));
        assert!(f.get("count").is_none(), "static findings carry no runtime stats: {f}");
    }
}

#[test]
fn json_is_the_same_for_any_thread_count() {
    let one = stdout_of(&["audit", LEGACY, "--format", "json", "--threads", "1"], 1);
    let four = stdout_of(&["audit", LEGACY, "--format", "json", "--threads", "4"], 1);
    let default = stdout_of(&["audit", LEGACY, "--format", "json"], 1);
    assert_eq!(one, four);
    assert_eq!(one, default);
}

#[test]
fn concise_has_one_line_per_finding() {
    let e = expected(LEGACY);
    let out = stdout_of(&["audit", LEGACY, "--format", "concise"], 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), e.total + 1, "{out}");
    for line in &lines[..e.total] {
        let (location, rest) = line.split_once(": D2H").unwrap_or_else(|| panic!("bad line {line:?}"));
        assert_eq!(location.split(':').count(), 3, "{line}");
        assert!(
            ["critical", "medium", "low"]
                .iter()
                .any(|s| rest.contains(&format!(" [{s}] ")) || rest.contains(&format!(" [{s}, "))),
            "{line}"
        );
    }
    assert_eq!(lines[e.total], e.found_line());

    let resident = stdout_of(&["audit", RESIDENT, "--format", "concise"], 0);
    assert_eq!(resident.lines().count(), expected(RESIDENT).total + 1);
}

#[test]
fn markdown_has_a_summary_and_a_plan() {
    let out = stdout_of(&["audit", LEGACY, "--format", "markdown"], 1);
    assert!(out.starts_with("# d2h audit: `examples/legacy-pipeline`"), "{out}");
    assert!(out.contains("## Audit Results Summary"));
    let e = expected(LEGACY);
    assert!(out.contains(&format!("- **Total transfers**: {}", e.total)));
    assert!(out.contains(&format!(
        "| **Total** | | **{}** | **{}** | **{}** | **{}** |",
        e.critical, e.medium, e.low, e.total
    )));
    let resident = stdout_of(&["audit", RESIDENT, "--format", "markdown"], 0);
    assert!(resident.contains("## Audit Results Summary"));
    assert!(resident.contains(&format!("- **Total transfers**: {}", expected(RESIDENT).total)));
}

#[test]
fn text_has_code_frames_reasons_and_a_summary() {
    let e = expected(LEGACY);
    let out = stdout_of(&["audit", LEGACY, "--format", "text"], 1);
    assert_eq!(out, stdout_of(&["audit", LEGACY], 1), "text is the default format");
    let why = out.lines().filter(|l| l.trim_start().starts_with("= why ")).count();
    assert_eq!(why, e.total, "one `= why` line per finding");
    let help = out.lines().filter(|l| l.trim_start().starts_with("= help: ")).count();
    assert_eq!(help, e.total, "one `= help` line per finding");
    assert!(out.contains("= why critical: in `Orchestrator.process_frame` (hot root: named `process_frame`)"));
    let underlines = out
        .lines()
        .filter(|l| l.trim_start().starts_with('|') && l.contains("^ D2H"))
        .count();
    assert_eq!(underlines, e.total, "one code frame underline per finding");
    assert!(out.ends_with(&format!("{}\n", e.found_line())));
    stdout_of(&["audit", RESIDENT, "--format", "text"], 0);
}

// ------------------------------------------------------------ output options

#[test]
fn output_writes_the_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    d2h()
        .args(["audit", LEGACY, "--format", "json", "--output"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("gate failed"));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["summary"]["total"], expected(LEGACY).total);

    // -o with --quiet still writes the file; markdown goes there too.
    let md = dir.path().join("report.md");
    d2h()
        .args(["audit", RESIDENT, "--format", "markdown", "--quiet", "-o"])
        .arg(&md)
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("## Audit Results Summary"));
    assert!(!text.contains('\x1b'));
}

#[test]
fn output_to_an_unwritable_place_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/report.json");
    d2h()
        .args(["audit", RESIDENT, "--output"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot write"));
}

#[test]
fn quiet_prints_nothing_on_stdout() {
    d2h()
        .args(["audit", LEGACY, "--quiet"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("gate failed"));
    d2h()
        .args(["audit", RESIDENT, "-q", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
}

fn assert_no_escapes(args: &[&str], envs: &[(&str, &str)]) {
    let mut cmd = d2h();
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    assert!(!output.stdout.contains(&0x1b), "escape codes in stdout of {args:?}");
}

#[test]
fn no_color_output_has_no_escape_codes() {
    for format in ["text", "concise", "markdown", "json"] {
        assert_no_escapes(&["audit", LEGACY, "--format", format, "--no-color"], &[]);
        assert_no_escapes(&["audit", LEGACY, "--format", format], &[("NO_COLOR", "1")]);
    }
}

/// Runs `d2h args...` under a pseudo-terminal (util-linux `script`), so that
/// colours would be on unless turned off. `None` where `script` is missing.
fn under_a_terminal(args: &str, no_color_env: bool) -> Option<Vec<u8>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_d2h");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("'{bin}' {args}"), "/dev/null"])
        .current_dir(root())
        .env_remove("NO_COLOR");
    if no_color_env {
        cmd.env("NO_COLOR", "1");
    }
    let output = cmd.output().ok()?;
    if output.stdout.is_empty() {
        return None;
    }
    Some(output.stdout)
}

#[test]
fn colours_are_on_for_a_terminal_unless_turned_off() {
    let args = format!("audit {RESIDENT} --format concise");
    let Some(coloured) = under_a_terminal(&args, false) else {
        eprintln!("`script` unavailable: terminal colour test skipped");
        return;
    };
    assert!(coloured.contains(&0x1b), "no colours on a terminal");
    let env_off = under_a_terminal(&args, true).unwrap();
    assert!(!env_off.contains(&0x1b), "NO_COLOR not honoured");
    let flag_off = under_a_terminal(&format!("{args} --no-color"), false).unwrap();
    assert!(!flag_off.contains(&0x1b), "--no-color not honoured");
}

// -------------------------------------------------------------- usage errors

#[test]
fn a_missing_path_exits_2_and_names_it() {
    d2h()
        .args(["audit", "no/such/dir.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir.py"));
    // Next to a real path, the real one is still audited but the run fails with 2.
    let out = d2h()
        .args(["audit", RESIDENT, "missing_dir", "--format", "json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing_dir"))
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["summary"]["files_scanned"], 7);
    assert_eq!(report["summary"]["files_with_errors"], 1);
}

#[test]
fn a_bad_format_or_severity_is_a_usage_error() {
    d2h()
        .args(["audit", RESIDENT, "--format", "xyz"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("xyz"));
    d2h().args(["audit", RESIDENT, "--fail-on", "severe"]).assert().code(2);
    d2h().args(["audit", RESIDENT, "--max-critical", "-1"]).assert().code(2);
    d2h().args(["frobnicate"]).assert().code(2);
}

#[test]
fn audit_without_paths_audits_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("model.py"),
        "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.cpu()\n",
    )
    .unwrap();
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(dir.path())
        .args(["audit", "--format", "concise"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("model.py:5:12: D2H001 [critical]"));
}

// --------------------------------------------------------------------- rules

#[test]
fn rules_lists_the_catalog() {
    let out = stdout_of(&["rules"], 0);
    for id in d2h_rules::RuleId::all() {
        let line = out.lines().find(|l| l.starts_with(id.code()));
        let line = line.unwrap_or_else(|| panic!("{id} missing from:\n{out}"));
        assert!(line.contains(id.name()) && line.contains(id.rule().summary), "{line}");
    }
    assert_eq!(
        out.lines().count(),
        1 + d2h_rules::RuleId::all().len(),
        "a header and one line per rule:\n{out}"
    );
}

#[test]
fn rule_prints_a_page() {
    let page = stdout_of(&["rule", "D2H003"], 0);
    assert!(page.starts_with("# D2H003 data-dependent-shape\n"), "{page}");
    assert!(page.contains("## What it does"));
    assert!(page.contains("## Fix"));
    assert_eq!(stdout_of(&["rule", "data-dependent-shape"], 0), page);
    for code in ["D2H001", "D2H002", "D2H004", "D2H005", "D2H006"] {
        assert!(stdout_of(&["rule", code], 0).contains("## What it does"), "{code}");
    }
}

#[test]
fn an_unknown_rule_exits_2() {
    d2h()
        .args(["rule", "nope"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("unknown rule `nope`"));
}

// ----------------------------------------------------------------- snapshots

fn normalise(text: &str) -> String {
    text.replace(&format!("d2h {}", env!("CARGO_PKG_VERSION")), "d2h [VERSION]")
}

#[test]
fn snapshot_legacy_concise() {
    let out = stdout_of(&["audit", LEGACY, "--format", "concise"], 1);
    insta::assert_snapshot!("legacy_concise", normalise(&out));
}

#[test]
fn snapshot_legacy_markdown() {
    let out = stdout_of(&["audit", LEGACY, "--format", "markdown"], 1);
    insta::assert_snapshot!("legacy_markdown", normalise(&out));
}

/// Standard output closed before the command writes (`d2h ... | head -1`):
/// every command stops quietly with exit code 0, whatever it would have
/// exited with (the legacy audit fails its gate), as ripgrep does.
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let static_path = dir.path().join("static.json");
    d2h()
        .args(["audit", LEGACY, "--format", "json", "--output"])
        .arg(&static_path)
        .assert()
        .code(1);
    let runtime_path = dir.path().join("runtime.json");
    let runtime = serde_json::json!({
        "schema": "d2h-report/1", "origin": "runtime",
        "tool": {"name": "probe", "version": "0"}, "root": ".",
        "summary": {"total": 0, "critical": 0, "medium": 0, "low": 0, "files_scanned": 0, "files_with_errors": 0},
        "findings": [], "errors": []
    });
    std::fs::write(&runtime_path, runtime.to_string()).unwrap();
    let (static_arg, runtime_arg) = (static_path.to_str().unwrap(), runtime_path.to_str().unwrap());
    let mut commands = vec![
        vec!["audit", LEGACY],
        vec!["audit", LEGACY, "--statistics"],
        vec!["compare", static_arg, runtime_arg],
        vec!["rules"],
        vec!["rule", "D2H001"],
        vec!["config"],
    ];
    if cfg!(feature = "pipeline") {
        commands.push(vec!["pipeline", "run", "--frames", "2", "--size", "64"]);
    }
    for args in commands {
        // A pipe whose reading end is closed before the command starts: its
        // first write fails with EPIPE, however little it writes.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("d2h"))
            .current_dir(root())
            .args(&args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "d2h {}: {stderr}", args.join(" "));
        assert!(stderr.is_empty(), "d2h {}: {stderr}", args.join(" "));
    }
}

/// Without the `pipeline` feature, `d2h pipeline` is a usage error that says why.
#[cfg(not(feature = "pipeline"))]
#[test]
fn pipeline_is_a_clear_usage_error_in_a_build_without_it() {
    d2h()
        .args(["pipeline", "run", "--frames", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not in this build"));
}
