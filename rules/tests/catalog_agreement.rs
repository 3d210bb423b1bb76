//! The places outside this crate that list the rules agree with the catalog:
//! the README's rule table, the generated pages under `docs/rules/` and their
//! index, the report schema's rule codes, and the Python probe's `RULE_NAMES`.
//! Each must name every rule it is meant to, with its catalog name, and none
//! that the catalog lacks; a code mentioned anywhere in those files must be a
//! rule of the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use d2h_rules::RuleId;

/// code → name, in code order.
type Names = BTreeMap<String, String>;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn catalog(select: impl Fn(RuleId) -> bool) -> Names {
    RuleId::all()
        .filter(|&id| select(id))
        .map(|id| (id.code().to_string(), id.name().to_string()))
        .collect()
}

/// The cells of the first table after the line `heading`, header and
/// separator rows left out; backticks and Markdown links unwrapped
/// (`[D2H001](D2H001.md)` is `D2H001`).
fn table_after(markdown: &str, heading: &str, file: &str) -> Vec<Vec<String>> {
    let mut lines = markdown.lines().skip_while(|line| line.trim_end() != heading);
    assert!(lines.next().is_some(), "{file} has no `{heading}`");
    lines
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|row| {
            let row = row.trim().trim_start_matches('|').trim_end_matches('|');
            row.split(" | ").map(cell_text).collect()
        })
        .collect()
}

fn cell_text(cell: &str) -> String {
    let cell = cell.trim().trim_matches('`');
    match cell.strip_prefix('[').and_then(|rest| rest.split_once("](")) {
        Some((text, _)) => text.to_string(),
        None => cell.to_string(),
    }
}

/// The first two columns of a rule table: code → name.
fn names_in(rows: &[Vec<String>], file: &str) -> Names {
    let mut names = Names::new();
    for row in rows {
        assert!(row.len() >= 2, "{file}: a rule row needs a code and a name: {row:?}");
        let previous = names.insert(row[0].clone(), row[1].clone());
        assert!(previous.is_none(), "{file} lists {} twice", row[0]);
    }
    names
}

/// Every `D2H` followed by exactly three digits.
fn codes_mentioned(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut codes = Vec::new();
    for (start, _) in text.match_indices("D2H") {
        let digits = &bytes[start + 3..];
        let run = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if run == 3 {
            codes.push(text[start..start + 6].to_string());
        }
    }
    codes
}

fn assert_only_catalog_codes(text: &str, file: &str) {
    for code in codes_mentioned(text) {
        assert!(
            RuleId::lookup(&code).is_ok(),
            "{file} mentions {code}, which is not a rule of the catalog"
        );
    }
}

#[test]
fn the_readme_rule_table_lists_every_rule() {
    let readme = read("README.md");
    let rows = table_after(&readme, "### Rules", "README.md");
    assert_eq!(names_in(&rows, "README.md"), catalog(|_| true), "README.md `### Rules`");
    assert_only_catalog_codes(&readme, "README.md");
}

#[test]
fn the_rule_pages_and_their_index_are_the_catalog() {
    let index = read("docs/rules/README.md");
    let rows = table_after(&index, "# d2h rules", "docs/rules/README.md");
    assert_eq!(names_in(&rows, "docs/rules/README.md"), catalog(|_| true));
    for (row, id) in rows.iter().zip(RuleId::all()) {
        assert_eq!(
            row.get(2).map(String::as_str),
            Some(id.rule().summary),
            "{id} in the index"
        );
    }

    let mut files: Vec<String> = std::fs::read_dir(repository().join("docs/rules"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = RuleId::all().map(|id| format!("{}.md", id.code())).collect();
    expected.push("README.md".to_string());
    expected.sort();
    assert_eq!(files, expected, "docs/rules/ holds one page per rule and the index");

    for id in RuleId::all() {
        let file = format!("docs/rules/{}.md", id.code());
        let page = read(&file);
        assert_eq!(
            page.lines().next(),
            Some(format!("# {} {}", id.code(), id.name()).as_str()),
            "{file}"
        );
        assert_only_catalog_codes(&page, &file);
    }
}

#[test]
fn the_report_schema_names_every_rule() {
    let file = "docs/report-schema.md";
    let schema = read(file);
    let rows = table_after(&schema, "### Rule codes", file);
    assert_eq!(names_in(&rows, file), catalog(|_| true), "{file} `### Rule codes`");
    assert_only_catalog_codes(&schema, file);

    // The JSON examples pair each `"rule"` with its catalog `"name"`.
    let mut examples = 0;
    let mut rest = schema.as_str();
    while let Some(at) = rest.find("\"rule\": \"") {
        rest = &rest[at + "\"rule\": \"".len()..];
        let code = &rest[..rest.find('"').unwrap()];
        let after_name = &rest[rest.find("\"name\": \"").expect("a name follows each rule") + "\"name\": \"".len()..];
        let name = &after_name[..after_name.find('"').unwrap()];
        let id = RuleId::lookup(code).unwrap_or_else(|_| panic!("{file}: {code} is not a rule"));
        assert_eq!(name, id.name(), "{file}: the example's name of {code}");
        examples += 1;
    }
    assert!(examples > 0, "{file} has JSON examples of findings");
}

/// The probe reports transfers it saw at run time, never suppression
/// comments: its names are the transfer rules, the `D2H9xx` ones excluded.
#[test]
fn the_python_probe_names_every_transfer_rule() {
    let file = "probes/python/d2h_probe.py";
    let probe = read(file);
    let mut lines = probe.lines().skip_while(|line| !line.starts_with("RULE_NAMES = {"));
    assert!(lines.next().is_some(), "{file} has no `RULE_NAMES = {{`");
    let mut names = Names::new();
    for line in lines.take_while(|line| !line.starts_with('}')) {
        let entry = line.trim().trim_end_matches(',');
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let (code, name) = entry
            .split_once(':')
            .unwrap_or_else(|| panic!("{file}: `{line}` is not a `\"code\": \"name\"` entry"));
        let unquote = |s: &str| s.trim().trim_matches('"').to_string();
        assert!(
            names.insert(unquote(code), unquote(name)).is_none(),
            "{file}: {line} twice"
        );
    }
    assert_eq!(names, catalog(|id| !id.is_meta()), "{file} RULE_NAMES");
    assert_only_catalog_codes(&probe, file);
}
