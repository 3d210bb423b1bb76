//! The bad-input battery, end to end through the `d2h` binary: a tree full of
//! hostile files (syntax errors, invalid UTF-8, a BOM, CRLF / mixed / CR-only
//! line endings, a NUL byte, an empty file, a 10 MB file, 5,000-deep nesting,
//! symlink loops, an unreadable file, a directory named `x.py`) next to good
//! ones. Each bad file is one clear entry under `errors`, every other file is
//! still audited, and the exit code follows the documented rules (per-file
//! errors never change it; a path that does not exist makes it 2). Then
//! determinism: the same tree gives byte-identical reports in every machine
//! format, for any `--threads` or `RAYON_NUM_THREADS`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `d2h` run in `dir`, with a clean environment for colours and threads.
fn d2h(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("d2h").unwrap();
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("RAYON_NUM_THREADS");
    cmd
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("d2h-bad-input").tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A hot function with one D2H001 site on line 4 column 12 (`x.cpu()`), lines joined by `eol`.
fn hot_cpu(eol: &str) -> String {
    [
        "import torch",
        "",
        "def forward(x: torch.Tensor):",
        "    return x.cpu()",
        "",
    ]
    .join(eol)
}

/// The 1-based line of the first line of `text` that contains `needle`, counting `\n` only.
fn line_of(text: &str, needle: &str) -> u64 {
    let index = text.split('\n').position(|l| l.contains(needle)).unwrap();
    index as u64 + 1
}

const DEPTH: usize = 5000;
const TEN_MB: usize = 10 * 1024 * 1024;

/// About 10 MB of plain functions, one `.item()` in a hot function at the very end.
fn ten_megabytes() -> String {
    let mut text = String::from("import torch\n\n");
    let mut i = 0;
    while text.len() < TEN_MB {
        text.push_str(&format!(
            "\ndef helper_{i}(x: torch.Tensor):\n    y = x * {i} + 1\n    return y.sum()\n\n"
        ));
        i += 1;
    }
    text.push_str("\ndef forward(x: torch.Tensor):\n    return x.item()\n");
    text
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Makes `path` unreadable; `false` when that has no effect (running as root).
#[cfg(unix)]
fn make_unreadable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::File::open(path).is_err()
}

/// What the tree holds, and what the audit must make of it.
struct Battery {
    dir: tempfile::TempDir,
    /// Bad file → a word its error message must contain.
    errors: BTreeMap<&'static str, &'static str>,
    /// (file, line, column, code) of findings the good files must give.
    findings: Vec<(String, u64, u64, String)>,
    /// Regular `.py` / `.rs` files in the tree, bad ones included.
    files: usize,
}

fn battery() -> Battery {
    let dir = tempdir();
    let p = dir.path();
    let mut errors = BTreeMap::new();
    let mut findings = Vec::new();
    let mut found = |file: &str, line: u64, column: u64, code: &str| {
        findings.push((file.to_string(), line, column, code.to_string()));
    };

    // Good files, one per line-ending convention.
    write(p, "good.py", hot_cpu("\n"));
    found("good.py", 4, 12, "x.cpu()");
    write(p, "crlf.py", hot_cpu("\r\n"));
    found("crlf.py", 4, 12, "x.cpu()");
    write(p, "bom.py", format!("\u{feff}{}", hot_cpu("\r\n")));
    found("bom.py", 4, 12, "x.cpu()");
    let mixed = "import torch\r\n\n\r\ndef forward(x: torch.Tensor):\n    y = x.item()\r\n    return x.cpu()\n";
    write(p, "mixed.py", mixed);
    found("mixed.py", line_of(mixed, "x.item()"), 9, "x.item()");
    found("mixed.py", line_of(mixed, "x.cpu()"), 12, "x.cpu()");
    // An empty file is a file with nothing to report, not an error.
    write(p, "empty.py", "");
    // A directory named like a Python file is walked as the directory it is.
    write(p, "pkg.py/inner.py", hot_cpu("\n"));
    found("pkg.py/inner.py", 4, 12, "x.cpu()");
    // 10 MB: audited whole, the one site at its end found on its line.
    let big = ten_megabytes();
    assert!(big.len() >= TEN_MB);
    write(p, "big.py", &big);
    found("big.py", line_of(&big, "x.item()"), 12, "x.item()");
    // The Rust front end, good and bad.
    let rust =
        "use candle_core::Tensor;\n\npub fn forward(x: &Tensor) -> Vec<f32> {\n    x.to_vec1::<f32>().unwrap()\n}\n";
    write(p, "src/model.rs", rust);
    found("src/model.rs", 4, 5, "x.to_vec1::<f32>()");

    // Bad files: each is an error naming what is wrong.
    write(p, "syntax.py", "import torch\n\ndef broken(x:\n    return x.cpu()\n");
    errors.insert("syntax.py", "syntax error at ");
    write(p, "latin1.py", b"# caf\xe9\nimport torch\n");
    errors.insert("latin1.py", "UTF-8");
    write(p, "nul.py", b"import torch\nx = 1\0\n");
    errors.insert("nul.py", "binary");
    write(p, "bom_latin1.py", b"\xef\xbb\xbfx = '\xff'\n");
    errors.insert("bom_latin1.py", "UTF-8");
    let parens = format!("x = {}1{}\n", "(".repeat(DEPTH), ")".repeat(DEPTH));
    write(p, "deep_parens.py", parens);
    errors.insert("deep_parens.py", "nested deeper than");
    let lists = format!("x = {}1{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH));
    write(p, "deep_lists.py", lists);
    errors.insert("deep_lists.py", "nested deeper than");
    let unary = format!("def forward(x):\n    return {}x\n", "-".repeat(DEPTH));
    write(p, "deep_unary.py", unary);
    errors.insert("deep_unary.py", "nested deeper than");
    write(p, "src/broken.rs", "pub fn f( {\n");
    errors.insert("src/broken.rs", "syntax error at ");
    let deep_rust = format!("pub fn f() -> i32 {{ {}1{} }}\n", "(".repeat(DEPTH), ")".repeat(DEPTH));
    write(p, "src/deep.rs", deep_rust);
    errors.insert("src/deep.rs", "nested deeper than");

    // Symlinks are not followed: loops, self-links and dangling links are not files.
    #[cfg(unix)]
    {
        symlink(".", &p.join("loop"));
        symlink("self.py", &p.join("self.py"));
        symlink("a_link.py", &p.join("b_link.py"));
        symlink("b_link.py", &p.join("a_link.py"));
        symlink("nowhere.py", &p.join("dangling.py"));
        symlink("good.py", &p.join("alias.py"));
        write(p, "unreadable.py", hot_cpu("\n"));
        if make_unreadable(&p.join("unreadable.py")) {
            errors.insert("unreadable.py", "permission denied");
        } else {
            // Root reads anything: then it is just another good file.
            found("unreadable.py", 4, 12, "x.cpu()");
        }
    }
    findings.sort();
    let files = count_sources(p);
    Battery {
        dir,
        errors,
        findings,
        files,
    }
}

/// Regular `.py` and `.rs` files under `dir`, symlinks not followed.
fn count_sources(dir: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let path = entry.path();
        if kind.is_dir() {
            count += count_sources(&path);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "py" || e == "rs") {
            count += 1;
        }
    }
    count
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("--format json is JSON")
}

fn findings_of(report: &Value) -> Vec<(String, u64, u64, String)> {
    let mut found: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

fn errors_of(report: &Value) -> BTreeMap<String, String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_bad_file_is_one_clear_error_and_the_rest_is_audited() {
    let b = battery();
    let output = d2h(b.dir.path())
        .args(["audit", ".", "--format", "json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("gate failed"))
        .get_output()
        .clone();
    let report = json(&output.stdout);

    let errors = errors_of(&report);
    let names: BTreeSet<&str> = errors.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = b.errors.keys().copied().collect();
    assert_eq!(names, expected, "{errors:#?}");
    for (file, word) in &b.errors {
        let message = &errors[*file];
        assert!(message.contains(word), "{file}: {message:?} lacks {word:?}");
        assert!(!message.contains("os error"), "{file}: raw OS error in {message:?}");
    }
    for file in ["syntax.py", "src/broken.rs"] {
        let position = errors[file].trim_start_matches("syntax error at ");
        let mut parts = position.split(':').take(2).map(|n| n.parse::<u32>());
        assert!(
            matches!((parts.next(), parts.next()), (Some(Ok(line)), Some(Ok(col))) if line >= 1 && col >= 1),
            "{file}: no line:col in {:?}",
            errors[file]
        );
    }

    assert_eq!(findings_of(&report), b.findings, "{report:#}");
    let summary = &report["summary"];
    assert_eq!(summary["files_scanned"].as_u64().unwrap(), b.files as u64, "{summary}");
    assert_eq!(summary["files_with_errors"].as_u64().unwrap(), b.errors.len() as u64);
    assert_eq!(summary["total"].as_u64().unwrap(), b.findings.len() as u64);
}

#[test]
fn text_output_lists_each_bad_file_and_counts_them() {
    let b = battery();
    let output = d2h(b.dir.path())
        .args(["audit", ".", "--no-color"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    for file in b.errors.keys() {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("{file}: ")) && l.contains("error")),
            "no error line for {file}"
        );
    }
    assert!(
        stdout.contains(&format!("{} files could not be audited", b.errors.len())),
        "{}",
        stdout.lines().last().unwrap_or("")
    );
}

/// A CR-only file (classic Mac line endings) parses in Python and is audited, not an
/// error, with its findings on Python's lines.
#[test]
fn cr_only_line_endings_are_audited() {
    let dir = tempdir();
    write(dir.path(), "mac.py", hot_cpu("\r"));
    let output = d2h(dir.path())
        .args(["audit", ".", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert!(errors_of(&report).is_empty(), "{report:#}");
    // A lone `\r` ends a line for Python: the site is on the line it is on in
    // the good file, not on line 1.
    assert_eq!(
        findings_of(&report),
        vec![("mac.py".to_string(), 4, 12, "x.cpu()".to_string())]
    );
}

#[test]
fn per_file_errors_alone_do_not_fail_the_gate() {
    let dir = tempdir();
    let p = dir.path();
    write(p, "syntax.py", "def f(:\n");
    write(p, "nul.py", b"\0");
    write(p, "latin1.py", b"\xff\n");
    write(
        p,
        "deep.py",
        format!("x = {}1{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH)),
    );
    for gate in [
        &[][..],
        &["--fail-on", "low"],
        &["--max-critical", "0", "--max-medium", "0"],
    ] {
        let output = d2h(p)
            .arg("audit")
            .args(gate)
            .args(["--format", "json"])
            .assert()
            .code(0)
            .stderr(predicate::str::is_empty())
            .get_output()
            .clone();
        let report = json(&output.stdout);
        assert_eq!(errors_of(&report).len(), 4, "{report:#}");
        assert_eq!(report["summary"]["total"], 0);
    }
}

#[test]
fn a_missing_path_exits_2_and_the_other_paths_are_still_audited() {
    let dir = tempdir();
    let p = dir.path();
    write(p, "good.py", hot_cpu("\n"));
    write(p, "clean.py", "x = 1\n");
    let output = d2h(p)
        .args(["audit", "good.py", "missing.py", "no/such/dir", "--format", "json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.py").and(predicate::str::contains("no/such/dir")))
        .get_output()
        .clone();
    let report = json(&output.stdout);
    let errors = errors_of(&report);
    assert_eq!(
        errors.get("missing.py").map(String::as_str),
        Some("no such file or directory")
    );
    assert_eq!(
        errors.get("no/such/dir").map(String::as_str),
        Some("no such file or directory")
    );
    assert_eq!(findings_of(&report).len(), 1, "{report:#}");

    // Missing beats a holding gate: still 2 when nothing else is wrong.
    d2h(p).args(["audit", "clean.py", "missing.py"]).assert().code(2);
    d2h(p)
        .args(["audit", "missing.py", "--quiet"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
}

#[cfg(unix)]
#[test]
fn explicit_symlink_loops_and_dangling_links_do_not_exist_and_exit_2() {
    let dir = tempdir();
    let p = dir.path();
    write(p, "good.py", hot_cpu("\n"));
    symlink("self.py", &p.join("self.py"));
    symlink("nowhere.py", &p.join("dangling.py"));
    for bad in ["self.py", "dangling.py"] {
        let output = d2h(p)
            .args(["audit", bad, "good.py", "--format", "json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(bad))
            .get_output()
            .clone();
        // Standard error gives the system's reason, not a blanket "no such file".
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        let reason = if bad == "self.py" {
            "symbolic link"
        } else {
            "no such file or directory"
        };
        assert!(stderr.contains(reason) && !stderr.contains("os error"), "{stderr}");
        let report = json(&output.stdout);
        let errors = errors_of(&report);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec![bad], "{report:#}");
        assert_eq!(findings_of(&report).len(), 1, "{report:#}");
    }
    let report = json(
        &d2h(p)
            .args(["audit", "self.py", "--format", "json"])
            .assert()
            .code(2)
            .get_output()
            .stdout,
    );
    let message = errors_of(&report)["self.py"].to_lowercase();
    assert!(
        message.contains("symbolic link") && !message.contains("os error"),
        "{message}"
    );
}

#[test]
fn explicit_odd_paths_are_walked_or_refused_clearly() {
    let dir = tempdir();
    let p = dir.path();
    write(p, "pkg.py/inner.py", hot_cpu("\n"));
    write(p, "notes.txt", "x.cpu()\n");
    write(p, "clean.py", "x = 1\n");

    // A directory named `x.py` given on the command line is a directory: walked.
    let report = json(
        &d2h(p)
            .args(["audit", "pkg.py", "--format", "json"])
            .assert()
            .code(1)
            .get_output()
            .stdout,
    );
    let files: Vec<String> = findings_of(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(files, vec!["inner.py".to_string()], "{report:#}");
    assert!(errors_of(&report).is_empty());

    // A file of another language is an error entry; the gate alone decides the exit code.
    let report = json(
        &d2h(p)
            .args(["audit", "notes.txt", "clean.py", "--format", "json"])
            .assert()
            .code(0)
            .get_output()
            .stdout,
    );
    let errors = errors_of(&report);
    assert!(errors["notes.txt"].contains("not a Python file"), "{errors:?}");
    assert_eq!(report["summary"]["total"], 0);
}

#[cfg(unix)]
#[test]
fn an_explicit_unreadable_file_is_an_error() {
    let dir = tempdir();
    let p = dir.path();
    write(p, "secret.py", hot_cpu("\n"));
    write(p, "clean.py", "x = 1\n");
    if !make_unreadable(&p.join("secret.py")) {
        eprintln!("running as root: permissions are not enforced, nothing to test");
        return;
    }
    let report = json(
        &d2h(p)
            .args(["audit", "secret.py", "clean.py", "--format", "json"])
            .assert()
            .code(0)
            .get_output()
            .stdout,
    );
    assert_eq!(errors_of(&report)["secret.py"], "cannot read file: permission denied");
}

// ------------------------------------------------------------- determinism

/// The legacy example, a few bad files and a Rust file, in one tree.
fn determinism_tree() -> tempfile::TempDir {
    let dir = tempdir();
    let p = dir.path();
    for entry in std::fs::read_dir(root().join("examples/legacy-pipeline")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            write(
                p,
                &format!("legacy/{}", path.file_name().unwrap().to_str().unwrap()),
                std::fs::read(&path).unwrap(),
            );
        }
    }
    write(p, "legacy/syntax.py", "def f(:\n");
    write(p, "legacy/nul.py", b"\0");
    write(
        p,
        "legacy/deep.py",
        format!("x = {}1{}\n", "(".repeat(DEPTH), ")".repeat(DEPTH)),
    );
    write(p, "bom.py", format!("\u{feff}{}", hot_cpu("\r\n")));
    write(
        p,
        "src/model.rs",
        "use candle_core::Tensor;\n\npub fn forward(x: &Tensor) -> Vec<f32> {\n    x.to_vec1::<f32>().unwrap()\n}\n",
    );
    dir
}

fn run_with(dir: &Path, format: &str, threads: Option<&str>, rayon: Option<&str>) -> Vec<u8> {
    let mut cmd = d2h(dir);
    cmd.args(["audit", ".", "--format", format]);
    if let Some(n) = threads {
        cmd.args(["--threads", n]);
    }
    if let Some(n) = rayon {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    cmd.assert().code(1).get_output().stdout.clone()
}

#[test]
fn reports_are_byte_identical_across_runs_and_thread_counts() {
    let dir = determinism_tree();
    let p = dir.path();
    for format in ["json", "sarif", "json-lines", "gitlab", "concise", "markdown", "html"] {
        let first = run_with(p, format, None, None);
        assert!(!first.is_empty(), "{format}: empty report");
        let runs = [
            ("a second run", run_with(p, format, None, None)),
            ("--threads 1", run_with(p, format, Some("1"), None)),
            ("--threads 2", run_with(p, format, Some("2"), None)),
            ("--threads 7", run_with(p, format, Some("7"), None)),
            ("RAYON_NUM_THREADS=1", run_with(p, format, None, Some("1"))),
            ("RAYON_NUM_THREADS=5", run_with(p, format, None, Some("5"))),
        ];
        for (how, bytes) in runs {
            assert!(first == bytes, "{format}: {how} differs from the first run");
        }
    }
    // And the reports are not trivially equal: the errors and findings are there.
    let report = json(&run_with(p, "json", Some("3"), None));
    assert_eq!(errors_of(&report).len(), 3, "{report:#}");
    assert!(report["summary"]["total"].as_u64().unwrap() > 1);
    let sarif: Value = serde_json::from_slice(&run_with(p, "sarif", Some("3"), None)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}
