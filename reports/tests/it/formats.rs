//! The CI formats (SARIF, GitHub annotations, JSON Lines, GitLab Code
//! Quality) on the hand-made reports of `fixture`: snapshots, the official
//! SARIF 2.1.0 schema, and what each consumer needs of paths and escaping.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use d2h_reports::{render, FileError, Finding, Format, Origin, RenderOptions, Report, SourceCache};
use d2h_rules::{RuleId, Severity};
use serde_json::Value;

use crate::fixture::*;

fn rendered(report: &Report, format: Format) -> String {
    let mut out = Vec::new();
    render(report, format, RenderOptions::default(), &SourceCache::new(), &mut out)
        .expect("writing to a Vec never fails");
    String::from_utf8(out).expect("renderers write UTF-8")
}

fn json(report: &Report, format: Format) -> Value {
    serde_json::from_str(&rendered(report, format)).expect("the renderer writes JSON")
}

/// A report with the static fixture's findings under another root.
fn rooted(root: &str) -> Report {
    let mut report = static_report();
    report.root = root.to_string();
    report
}

/// The lines of the SARIF log's `rules` array: (first, last) indices, and
/// the first line of each rule object.
fn rules_span(lines: &[&str]) -> (usize, usize, String) {
    let start = lines
        .iter()
        .position(|l| l.trim_start() == "\"rules\": [")
        .expect("the driver has rules");
    let indent = lines[start][..lines[start].len() - lines[start].trim_start().len()].to_string();
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == format!("{indent}]") || *l == format!("{indent}],"))
            .expect("the rules array closes");
    (start, end, indent)
}

/// The SARIF log with its `rules` array (the whole catalog, which grows with
/// every new rule) folded to one line; `sarif_rules_follow_the_catalog` and
/// `snapshot_sarif_rule` check the rules instead.
fn sarif_without_rules(report: &Report) -> String {
    let out = rendered(report, Format::Sarif);
    let lines: Vec<&str> = out.lines().collect();
    let (start, end, indent) = rules_span(&lines);
    let comma = if lines[end].ends_with(',') { "," } else { "" };
    let mut folded: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
    folded.push(format!("{indent}\"rules\": \"<the rules of the catalog>\"{comma}"));
    folded.extend(lines[end + 1..].iter().map(|l| l.to_string()));
    folded.join("\n") + "\n"
}

/// The first rule of the SARIF log (D2H001), exactly as written.
fn sarif_first_rule(report: &Report) -> String {
    let out = rendered(report, Format::Sarif);
    let lines: Vec<&str> = out.lines().collect();
    let (start, _, indent) = rules_span(&lines);
    let close = format!("{indent}  }}");
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim_end_matches(',') == close)
            .expect("the first rule closes");
    lines[start + 1..=end].join("\n").trim_end_matches(',').to_string() + "\n"
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif_static", sarif_without_rules(&static_report()));
    insta::assert_snapshot!("sarif_runtime", sarif_without_rules(&runtime_report()));
    insta::assert_snapshot!("sarif_empty", sarif_without_rules(&empty_report()));
}

#[test]
fn snapshot_sarif_suppressed() {
    insta::assert_snapshot!("sarif_suppressed", sarif_without_rules(&suppressed_report()));
}

#[test]
fn snapshot_sarif_rule() {
    insta::assert_snapshot!("sarif_rule_d2h001", sarif_first_rule(&empty_report()));
}

#[test]
fn snapshot_github() {
    insta::assert_snapshot!("github_static", rendered(&static_report(), Format::Github));
    insta::assert_snapshot!("github_runtime", rendered(&runtime_report(), Format::Github));
    assert_eq!(rendered(&empty_report(), Format::Github), "");
}

#[test]
fn snapshot_json_lines() {
    insta::assert_snapshot!("json_lines_static", rendered(&static_report(), Format::JsonLines));
    insta::assert_snapshot!("json_lines_runtime", rendered(&runtime_report(), Format::JsonLines));
    assert_eq!(rendered(&empty_report(), Format::JsonLines), "");
}

#[test]
fn snapshot_gitlab() {
    insta::assert_snapshot!("gitlab_static", rendered(&static_report(), Format::Gitlab));
    insta::assert_snapshot!("gitlab_runtime", rendered(&runtime_report(), Format::Gitlab));
    assert_eq!(rendered(&empty_report(), Format::Gitlab), "[]\n");
}

// -------------------------------------------------------------------- SARIF

/// The official SARIF 2.1.0 schema (see tests/data/README.md), compiled once.
fn sarif_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        // The two `language` patterns of the schema,
        // `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, have a stray `]`: a
        // literal in a lenient regex engine, an error to the strict ECMA 262
        // check that the draft-07 meta-schema makes jsonschema run on every
        // pattern before it compiles a schema. Escaping it keeps the meaning;
        // the vendored file itself is left exactly as published.
        const STRAY: &str = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
        const ESCAPED: &str = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#;
        let text = include_str!("../data/sarif-schema-2.1.0.json");
        assert_eq!(text.matches(STRAY).count(), 2, "the schema changed; revisit the patch");
        let schema: Value = serde_json::from_str(&text.replace(STRAY, ESCAPED)).expect("the schema is JSON");
        jsonschema::options()
            // `uri`, `uri-reference` and `date-time` values are checked too.
            .should_validate_formats(true)
            .build(&schema)
            .expect("the schema compiles")
    })
}

fn assert_valid_sarif(report: &Report) {
    let log = json(report, Format::Sarif);
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid SARIF for root {:?}:\n{}",
        report.root,
        errors.join("\n")
    );
}

/// Reports that stress the schema: odd file names, absolute and Windows
/// roots, errors only, a site without a line.
fn awkward_reports() -> Vec<Report> {
    let mut odd = static_report();
    odd.findings[0].file = "dir with space/ü:50%#?.py".to_string();
    odd.findings[1].file = "C:colon.py".to_string();
    odd.findings[2].line = 0;
    odd.findings[3].column = 0;
    // A via in an oddly named file, without a column.
    let with_via = odd
        .findings
        .iter()
        .position(|f| f.via.is_some())
        .expect("a finding with a via");
    let via = odd.findings[with_via].via.as_mut().unwrap();
    via.file = "other dir/ß#1.py".to_string();
    via.column = 0;
    let errors_only = Report::new(
        Origin::Static,
        ".",
        Vec::new(),
        vec![FileError {
            file: "a b.py".to_string(),
            message: "unreadable".to_string(),
        }],
        1,
    );
    vec![
        odd,
        rooted("/srv/my repo"),
        rooted("C:/work/repo"),
        rooted("//host/share/repo"),
        rooted("/"),
        rooted("."),
        rooted("./a/../b/"),
        rooted("../sibling"),
        errors_only,
    ]
}

#[test]
fn sarif_validates_against_the_official_schema() {
    for report in [static_report(), runtime_report(), empty_report(), suppressed_report()] {
        assert_valid_sarif(&report);
    }
    for report in awkward_reports() {
        assert_valid_sarif(&report);
    }
}

/// Findings suppressed in the source are results too, after the others, each
/// with one `inSource` suppression: the comment's reason and its line.
#[test]
fn sarif_marks_suppressed_findings_as_suppressed_in_source() {
    let report = suppressed_report();
    let log = json(&report, Format::Sarif);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len() + report.suppressed.len());
    let (plain, suppressed) = results.split_at(report.findings.len());
    assert!(plain.iter().all(|r| r.get("suppressions").is_none()));
    for (result, expected) in suppressed.iter().zip(&report.suppressed) {
        assert_eq!(result["ruleId"], expected.finding.rule.code());
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], expected.finding.line);
        let suppressions = result["suppressions"].as_array().unwrap();
        assert_eq!(suppressions.len(), 1);
        assert_eq!(suppressions[0]["kind"], "inSource");
        match &expected.suppression.justification {
            Some(reason) => assert_eq!(suppressions[0]["justification"], reason.as_str()),
            None => assert!(suppressions[0].get("justification").is_none()),
        }
        let location = &suppressions[0]["location"]["physicalLocation"];
        assert_eq!(location["region"]["startLine"], expected.suppression.line);
        assert_eq!(
            location["artifactLocation"],
            result["locations"][0]["physicalLocation"]["artifactLocation"]
        );
    }
}

/// The other CI formats list what is gated: suppressed findings are left out.
#[test]
fn ci_formats_leave_suppressed_findings_out() {
    let report = suppressed_report();
    let shown = report.findings.len() + report.errors.len();
    assert!(!report.suppressed.is_empty());
    assert_eq!(rendered(&report, Format::JsonLines).lines().count(), shown);
    assert_eq!(rendered(&report, Format::Github).lines().count(), shown);
    assert_eq!(json(&report, Format::Gitlab).as_array().unwrap().len(), shown);
}

#[test]
fn the_schema_check_catches_broken_logs() {
    let mut log = json(&static_report(), Format::Sarif);
    assert!(sarif_validator().is_valid(&log));
    let result = &mut log["runs"][0]["results"][0];
    result["level"] = Value::from("critical");
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = Value::from(0);
    let errors = sarif_validator().iter_errors(&log).count();
    assert!(errors >= 2, "the validator missed {} errors", 2 - errors);
    let mut log = json(&static_report(), Format::Sarif);
    log["runs"][0]["tool"]["driver"].as_object_mut().unwrap().remove("name");
    assert!(!sarif_validator().is_valid(&log));
}

#[test]
fn sarif_rules_follow_the_catalog() {
    let log = json(&static_report(), Format::Sarif);
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "d2h");
    assert_eq!(driver["version"], "0.0.0-test");
    // The package's `repository`, when it has one; never a made-up address.
    match env!("CARGO_PKG_REPOSITORY") {
        "" => assert!(driver.get("informationUri").is_none(), "{driver}"),
        uri => assert_eq!(driver["informationUri"], uri),
    }
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RuleId::all().len());
    for (rule, id) in rules.iter().zip(RuleId::all()) {
        let entry = id.rule();
        assert_eq!(rule["id"], id.code());
        assert_eq!(rule["name"], entry.name);
        assert_eq!(rule["shortDescription"]["text"], entry.summary);
        // The page's "What it does", unwrapped.
        let full = rule["fullDescription"]["text"].as_str().unwrap();
        assert!(
            !full.is_empty() && !full.contains("## ") && !full.contains("\n\n\n"),
            "{}: {full}",
            id.code()
        );
        let first_words: String = full.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        assert!(entry.page().contains(&first_words), "{}: {full}", id.code());
        let help = rule["help"]["markdown"].as_str().unwrap();
        assert!(help.starts_with(&entry.page()), "{}", id.code());
        assert!(help.ends_with(&format!(
            "## How to fix\n- Python: {}\n- Rust: {}\n",
            entry.fix.python, entry.fix.rust
        )));
        let text = rule["help"]["text"].as_str().unwrap();
        assert!(text.contains(&format!("How to fix (Python): {}\n", entry.fix.python)));
        assert!(text.contains(&format!("How to fix (Rust): {}\n", entry.fix.rust)));
        assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    }
}

#[test]
fn sarif_results_carry_rule_level_message_region_and_fingerprint() {
    let report = static_report();
    let log = json(&report, Format::Sarif);
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (result, f) in results.iter().zip(&report.findings) {
        assert_eq!(result["ruleId"], f.rule.code());
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], f.rule.code());
        let level = match f.severity {
            Severity::Critical => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        };
        assert_eq!(result["level"], level);
        let text = result["message"]["text"].as_str().unwrap();
        assert!(text.starts_with(f.rule.rule().summary), "{text}");
        assert!(text.contains(&f.reason) && text.contains(&f.code), "{text}");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(
            location["artifactLocation"]["uri"],
            format!("examples/sam2_tracker/{}", f.file)
        );
        let region = &location["region"];
        assert_eq!(region["startLine"], f.line);
        assert_eq!(region["startColumn"], f.column);
        assert_eq!(region["endLine"], f.end_line);
        assert_eq!(region["endColumn"], f.end_column);
        assert_eq!(result["partialFingerprints"]["d2h/v1"], f.fingerprint.as_str());
        assert_eq!(
            result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            f.symbol.as_str()
        );
    }
    // The relative root cannot be made absolute without the filesystem.
    assert!(run.get("originalUriBaseIds").is_none());
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/sam2_tracker/vendor/broken.py"
    );
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("could not parse"));
}

#[test]
fn sarif_uris_follow_the_root() {
    let uri = |report: &Report| {
        let log = json(report, Format::Sarif);
        let run = &log["runs"][0];
        let location = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
        let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .map(str::to_string);
        (location["uri"].as_str().unwrap().to_string(), base)
    };
    let first = &static_report().findings[0].file;
    assert_eq!(uri(&rooted(".")), (first.clone(), None));
    assert_eq!(uri(&rooted("./a/../b/")), (format!("b/{first}"), None));
    assert_eq!(
        uri(&rooted("/srv/my repo")),
        (first.clone(), Some("file:///srv/my%20repo/".to_string()))
    );
    assert_eq!(
        uri(&rooted("C:/work/repo")),
        (first.clone(), Some("file:///C:/work/repo/".to_string()))
    );
    let mut odd = rooted(".");
    odd.findings[0].file = "dir with space/ü:50%#?.py".to_string();
    assert_eq!(uri(&odd).0, "dir%20with%20space/%C3%BC%3A50%25%23%3F.py");
}

#[test]
fn sarif_runtime_results_keep_their_counts() {
    let report = runtime_report();
    let index = report
        .findings
        .iter()
        .position(|f| f.runtime.as_ref().unwrap().count == 1800)
        .unwrap();
    let log = json(&report, Format::Sarif);
    let result = &log["runs"][0]["results"][index];
    assert_eq!(result["properties"]["severity"], "critical");
    assert_eq!(result["properties"]["runtime"]["count"], 1800);
    assert_eq!(log["runs"][0]["properties"]["origin"], "runtime");
    assert!(log["runs"][0]["invocations"][0]
        .get("toolExecutionNotifications")
        .is_none());
}

// ------------------------------------------------------------------- GitHub

/// A parsed workflow command: name, unescaped properties, unescaped message.
struct Command {
    name: String,
    properties: Vec<(String, String)>,
    message: String,
}

/// Undoes the workflow-command escaping, as the runner does.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at..at + 3).unwrap_or("");
        out.push_str(match code {
            "%25" => "%",
            "%0D" => "\r",
            "%0A" => "\n",
            "%3A" => ":",
            "%2C" => ",",
            _ => panic!("stray % in {text:?}"),
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

fn parse_command(line: &str) -> Command {
    let body = line.strip_prefix("::").expect("a workflow command starts with ::");
    let (head, message) = body.split_once("::").expect("a command has ::");
    let (name, properties) = head.split_once(' ').unwrap_or((head, ""));
    let properties = properties
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, value) = p.split_once('=').expect("key=value");
            (key.to_string(), unescape(value))
        })
        .collect();
    Command {
        name: name.to_string(),
        properties,
        message: unescape(message),
    }
}

impl Command {
    fn get(&self, key: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[test]
fn github_annotates_each_finding_at_its_repository_path() {
    let report = static_report();
    let out = rendered(&report, Format::Github);
    let commands: Vec<Command> = out.lines().map(parse_command).collect();
    assert_eq!(commands.len(), report.findings.len() + report.errors.len());
    for (c, f) in commands.iter().zip(&report.findings) {
        let level = match f.severity {
            Severity::Critical => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        assert_eq!(c.name, level);
        assert_eq!(c.get("file"), Some(format!("{ROOT}/{}", f.file).as_str()));
        assert_eq!(c.get("line"), Some(f.line.to_string().as_str()));
        assert_eq!(c.get("endLine"), Some(f.end_line.to_string().as_str()));
        if f.line == f.end_line {
            assert_eq!(c.get("col"), Some(f.column.to_string().as_str()));
            assert_eq!(c.get("endColumn"), Some(f.end_column.to_string().as_str()));
        } else {
            // The runner drops columns of a multi-line annotation.
            assert_eq!(c.get("col"), None);
            assert_eq!(c.get("endColumn"), None);
        }
        assert_eq!(
            c.get("title"),
            Some(format!("{} {}", f.rule.code(), f.rule.name()).as_str())
        );
        let (first, help) = c.message.split_once('\n').expect("message and help");
        // The confidence follows the severity when it is not certain.
        let grade = if f.confidence == d2h_rules::Confidence::Certain {
            f.severity.to_string()
        } else {
            format!("{}, {}", f.severity, f.confidence)
        };
        let via = f
            .via
            .as_ref()
            .map(|v| {
                format!(
                    "; via the call of `{}` at {ROOT}/{}:{}:{}",
                    v.calls, v.file, v.line, v.column
                )
            })
            .unwrap_or_default();
        assert_eq!(
            first,
            format!("{}: `{}` ({grade}: {}{via})", f.rule.rule().summary, f.code, f.reason)
        );
        assert_eq!(help, format!("help: {}", f.rule.rule().fix.python));
    }
    let error = commands.last().unwrap();
    assert_eq!(error.name, "error");
    assert_eq!(error.get("file"), Some("examples/sam2_tracker/vendor/broken.py"));
    assert_eq!(error.message, report.errors[0].message);
}

#[test]
fn github_help_speaks_the_finding_s_language() {
    let python = static_report().findings[0].clone();
    let mut rust = python.clone();
    rust.file = "src/matcher/mod.rs".to_string();
    let hints = python.rule.rule().fix;
    for (finding, hint) in [(python, hints.python), (rust, hints.rust)] {
        let report = Report::new(Origin::Static, "", vec![finding], Vec::new(), 1);
        let command = parse_command(rendered(&report, Format::Github).trim_end());
        let (_, help) = command.message.split_once('\n').expect("message and help");
        assert_eq!(help, format!("help: {hint}"));
    }
}

#[test]
fn github_escapes_what_would_break_a_command() {
    let mut report = rooted("./a,b:c/");
    report.findings.truncate(1);
    let f = &mut report.findings[0];
    f.file = "we,ird:50%.py".to_string();
    f.code = "print(f'{x}%, done')\r\n::error::injected".to_string();
    f.reason = "a:b,c 100%".to_string();
    let out = rendered(&report, Format::Github);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one command per finding and error:\n{out}");
    let c = parse_command(lines[0]);
    assert_eq!(c.get("file"), Some("a,b:c/we,ird:50%.py"));
    assert!(c.message.contains("(low: a:b,c 100%)"), "{}", c.message);
    // The source's CR LF can neither end the command nor start another.
    assert!(
        c.message.contains("done')\u{FFFD}\u{FFFD}::error::injected"),
        "{}",
        c.message
    );
    assert!(!out.contains('\r'));
}

#[test]
fn github_paths_follow_the_root() {
    let file = |root: &str| {
        let out = rendered(&rooted(root), Format::Github);
        parse_command(out.lines().next().unwrap())
            .get("file")
            .unwrap()
            .to_string()
    };
    let first = static_report().findings[0].file.clone();
    assert_eq!(file("."), first);
    assert_eq!(file("./"), first);
    assert_eq!(file("./examples//x/"), format!("examples/x/{first}"));
    // The runner makes absolute paths inside the workspace relative itself.
    assert_eq!(file("/home/runner/work/r/r"), format!("/home/runner/work/r/r/{first}"));
}

// --------------------------------------------------------------- JSON Lines

#[test]
fn json_lines_are_the_findings_then_the_errors() {
    for report in [static_report(), runtime_report()] {
        let out = rendered(&report, Format::JsonLines);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), report.findings.len() + report.errors.len());
        for (line, f) in lines.iter().zip(&report.findings) {
            let back: Finding = serde_json::from_str(line).expect("a finding");
            assert_eq!(&back, f);
            assert_eq!(
                serde_json::from_str::<Value>(line).unwrap(),
                serde_json::to_value(f).unwrap(),
                "exactly the schema's finding object"
            );
        }
        for (line, e) in lines[report.findings.len()..].iter().zip(&report.errors) {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                value,
                serde_json::json!({ "file": e.file, "message": e.message, "kind": "error" })
            );
        }
    }
}

// ------------------------------------------------------------------- GitLab

#[test]
fn gitlab_issues_have_what_code_quality_needs() {
    let report = static_report();
    let issues = json(&report, Format::Gitlab);
    let issues = issues.as_array().expect("a JSON array");
    assert_eq!(issues.len(), report.findings.len() + report.errors.len());
    let mut fingerprints = HashSet::new();
    for (issue, f) in issues.iter().zip(&report.findings) {
        assert_eq!(issue["type"], "issue");
        assert_eq!(issue["check_name"], f.rule.code());
        let severity = match f.severity {
            Severity::Critical => "critical",
            Severity::Medium => "major",
            Severity::Low => "minor",
        };
        assert_eq!(issue["severity"], severity);
        assert_eq!(issue["fingerprint"], f.fingerprint.as_str());
        assert_eq!(issue["categories"], serde_json::json!(["Performance"]));
        assert_eq!(issue["location"]["path"], format!("{ROOT}/{}", f.file));
        assert_eq!(issue["location"]["lines"]["begin"], f.line);
        assert_eq!(issue["location"]["lines"]["end"], f.end_line);
        assert!(issue["description"].as_str().unwrap().contains(&f.reason));
    }
    for issue in issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {issue}");
        }
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()));
        assert!(!issue["location"]["path"].as_str().unwrap().starts_with("./"));
    }
    let error = issues.last().unwrap();
    assert_eq!(error["check_name"], "file-not-audited");
    assert_eq!(error["location"]["path"], "examples/sam2_tracker/vendor/broken.py");
}

#[test]
fn gitlab_paths_are_relative_to_the_repository() {
    let paths = |root: &str| -> BTreeSet<String> {
        json(&rooted(root), Format::Gitlab)
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["location"]["path"].as_str().unwrap().to_string())
            .collect()
    };
    let bare = paths(".");
    assert!(bare.contains("sam2/predictor.py"), "{bare:?}");
    assert_eq!(paths("./"), bare);
    // An absolute root is taken for the repository (`$CI_PROJECT_DIR`).
    assert_eq!(paths("/builds/group/project"), bare);
    let joined = paths("./src/");
    assert!(joined.iter().all(|p| p.starts_with("src/")), "{joined:?}");
}

// ---------------------------------------------------------------------- via

/// The findings of the static fixture with and without a `via`, paired with their results.
fn with_and_without_via<'r, T>(report: &'r Report, items: &'r [T]) -> (Vec<(&'r T, &'r Finding)>, Vec<&'r T>) {
    let mut with = Vec::new();
    let mut without = Vec::new();
    for (item, f) in items.iter().zip(&report.findings) {
        match f.via {
            Some(_) => with.push((item, f)),
            None => without.push(item),
        }
    }
    (with, without)
}

#[test]
fn sarif_relates_the_call_where_the_hot_path_enters() {
    let report = static_report();
    let log = json(&report, Format::Sarif);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let (with, without) = with_and_without_via(&report, results);
    assert_eq!(with.len(), 1, "the fixture has one site with a via");
    assert!(without.iter().all(|r| r.get("relatedLocations").is_none()));
    for (result, f) in with {
        let via = f.via.as_ref().unwrap();
        let related = &result["relatedLocations"];
        assert_eq!(related.as_array().unwrap().len(), 1);
        assert_eq!(related[0]["id"], 1);
        let location = &related[0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], format!("{ROOT}/{}", via.file));
        assert_eq!(location["region"]["startLine"], via.line);
        assert_eq!(location["region"]["startColumn"], via.column);
        assert_eq!(
            related[0]["message"]["text"],
            format!("the hot loop calls `{}` here", via.calls)
        );
        let text = result["message"]["text"].as_str().unwrap();
        let said = format!(
            "; via the call of `{}` at {ROOT}/{}:{}:{})",
            via.calls, via.file, via.line, via.column
        );
        assert!(text.ends_with(&said), "{text}");
    }
}

#[test]
fn gitlab_descriptions_mention_the_via_call() {
    let report = static_report();
    let issues = json(&report, Format::Gitlab);
    let (with, without) = with_and_without_via(&report, issues.as_array().unwrap());
    assert_eq!(with.len(), 1);
    for (issue, f) in with {
        let calls = format!("via the call of `{}`", f.via.as_ref().unwrap().calls);
        assert!(issue["description"].as_str().unwrap().contains(&calls), "{issue}");
    }
    assert!(without
        .iter()
        .all(|issue| !issue["description"].as_str().unwrap().contains("; via ")));
}

#[test]
fn json_findings_carry_via_only_where_they_have_one() {
    let report = static_report();
    let value = json(&report, Format::Json);
    let findings = value["findings"].as_array().unwrap();
    let (with, without) = with_and_without_via(&report, findings);
    assert!(without.iter().all(|f| f.get("via").is_none()));
    for (object, f) in with {
        let via = f.via.as_ref().unwrap();
        assert_eq!(
            object["via"],
            serde_json::json!({ "file": via.file, "line": via.line, "column": via.column, "calls": via.calls })
        );
    }
}

#[test]
fn reports_written_before_via_still_read() {
    let report = static_report();
    let mut value = json(&report, Format::Json);
    for finding in value["findings"].as_array_mut().unwrap() {
        finding.as_object_mut().unwrap().remove("via");
    }
    let back: Report = serde_json::from_value(value).expect("a report without `via` reads back");
    assert!(back.findings.iter().all(|f| f.via.is_none()));
    assert_eq!(back.findings.len(), report.findings.len());
}

// ----------------------------------------------------------------- all four

#[test]
fn ci_formats_are_deterministic_and_order_independent() {
    let report = static_report();
    let mut shuffled = report.clone();
    shuffled.findings.reverse();
    let shuffled = Report::new(
        shuffled.origin,
        shuffled.root.clone(),
        shuffled.findings,
        shuffled.errors,
        shuffled.summary.files_scanned,
    );
    let mut pinned = shuffled;
    pinned.tool = report.tool.clone();
    for format in [Format::Sarif, Format::Github, Format::JsonLines, Format::Gitlab] {
        assert_eq!(rendered(&report, format), rendered(&report, format));
        assert_eq!(
            rendered(&pinned, format),
            rendered(&report, format),
            "{}",
            format.name()
        );
    }
}

#[test]
fn format_names() {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "text",
            "concise",
            "json",
            "markdown",
            "sarif",
            "github",
            "json-lines",
            "gitlab",
            "html"
        ]
    );
}
