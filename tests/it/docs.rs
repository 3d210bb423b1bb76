//! The rule pages under `docs/rules/` are generated from the catalog by
//! `d2h docs`; this test fails when they are stale (run `cargo run -- docs`).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_rule_pages_in_docs_are_up_to_date() {
    let generated = tempfile::tempdir().unwrap();
    Command::cargo_bin("d2h")
        .unwrap()
        .args(["docs"])
        .arg(generated.path())
        .assert()
        .code(0);
    let mut names: Vec<String> = std::fs::read_dir(generated.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), d2h_rules::RuleId::all().len() + 1, "{names:?}");
    for name in &names {
        let fresh = std::fs::read_to_string(generated.path().join(name)).unwrap();
        let committed = std::fs::read_to_string(root().join("docs/rules").join(name))
            .unwrap_or_else(|_| panic!("docs/rules/{name} is missing: run `cargo run -- docs`"));
        assert_eq!(committed, fresh, "docs/rules/{name} is stale: run `cargo run -- docs`");
    }
    Command::cargo_bin("d2h")
        .unwrap()
        .current_dir(root())
        .args(["docs", "--check"])
        .assert()
        .code(0);
}

#[test]
fn a_page_is_the_rule_command_s_output() {
    let page = std::fs::read_to_string(root().join("docs/rules/D2H003.md")).unwrap();
    Command::cargo_bin("d2h")
        .unwrap()
        .args(["rule", "D2H003"])
        .assert()
        .code(0)
        .stdout(page);
}

#[test]
fn check_reports_stale_and_foreign_pages() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("d2h")
        .unwrap()
        .arg("docs")
        .arg(dir.path())
        .assert()
        .code(0);
    std::fs::write(dir.path().join("D2H001.md"), "# edited by hand\n").unwrap();
    std::fs::write(dir.path().join("D2H999.md"), "# not a rule\n").unwrap();
    std::fs::remove_file(dir.path().join("D2H002.md")).unwrap();
    Command::cargo_bin("d2h")
        .unwrap()
        .args(["docs", "--check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("D2H001.md is stale")
                .and(predicate::str::contains("D2H002.md is missing"))
                .and(predicate::str::contains("D2H999.md is not a rule of the catalog")),
        );
}
