//! Configuration: `[tool.d2h]` in `pyproject.toml`, or top-level keys in a
//! `d2h.toml`, found by walking up from the audited path (a `d2h.toml` wins
//! over a `pyproject.toml` in the same directory; a `pyproject.toml` without
//! `[tool.d2h]` is passed over), or named with `--config`.
//!
//! Every key is checked: an unknown key or a value of the wrong shape is a
//! [`ConfigError`] that names the file and the key. Nothing here prints.
//!
//! | key | value | effect |
//! |---|---|---|
//! | `select` / `ignore` | rule codes, prefixes (`D2H00`) or names | which rules report; the more specific entry wins |
//! | `severity` | table: rule → `critical`/`medium`/`low` | that rule's findings get that severity |
//! | `min-confidence` | `certain`/`likely`/`possible` | findings less sure are dropped (default `possible`: all) |
//! | `hot-functions` | names, or prefixes ending in `*` | replaces the built-in hot roots |
//! | `extend-hot-functions` | same | adds to them |
//! | `guard-names` | names | more debug/logging flags (parts of names, any case) |
//! | `cold-paths` | globs | findings there are low |
//! | `per-file-ignores` | table: glob → rules | rules off in matching files |
//! | `exclude` / `extend-exclude` | globs | paths not audited (replaces / adds to the defaults) |
//! | `transfer-functions` | qualified names (`utils.to_numpy`, `Gate::to_vec2`), or a table: name → rule | calls of them are sites of that rule (D2H001 for a list) |
//! | `require-reason` | bool | suppressions without a reason are D2H902 findings |
//!
//! The keys are [`Config`]'s fields (`options`), read by serde: each value in
//! its shape (`shapes`), made of checked strings (`values`); an error is
//! placed at its key (`errors`); `d2h config` prints the serialized fields
//! (`print`). This module finds and reads the file. A new key is a field of
//! [`Config`] and a row in the table above.

mod errors;
mod options;
mod print;
mod shapes;
mod values;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use errors::ConfigError;
use errors::Place;
pub use options::{Config, Keys, DEFAULT_EXCLUDE, KEYS};
pub use values::{is_selected, selector_matches, Glob, GuardName, HotFunction, Selector};

// The unit tests below read these through `use super::*`.
#[cfg(test)]
use {
    crate::policy::TransferFunction,
    d2h_rules::{RuleId, Severity},
    errors::closest,
};

/// Files that mark a project's root, nearest first.
pub const ROOT_MARKERS: &[&str] = &["d2h.toml", "pyproject.toml", ".git"];

/// Which kind of file a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `[tool.d2h]` of a `pyproject.toml`.
    Pyproject,
    /// Top-level keys of a `d2h.toml` (or any other file given with `--config`).
    D2hToml,
}

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file, as it will be named in messages.
    pub path: PathBuf,
    pub kind: ConfigKind,
}

/// Names a file for messages: relative to the current directory when under it.
fn display_file(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            let absolute = std::path::absolute(path).ok()?;
            absolute.strip_prefix(&cwd).ok().map(Path::to_path_buf)
        })
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf());
    shown.to_string_lossy().replace('\\', "/")
}

impl Config {
    /// The configuration for an audit of `start` (a file or directory): the
    /// nearest `d2h.toml`, or `pyproject.toml` with a `[tool.d2h]` table, in
    /// `start`'s directory or above. `None` when there is none.
    pub fn discover(start: &Path) -> Result<Option<Config>, ConfigError> {
        let Ok(absolute) = std::path::absolute(start) else {
            return Ok(None);
        };
        let mut dir = if absolute.is_dir() {
            Some(absolute.as_path())
        } else {
            absolute.parent()
        };
        while let Some(current) = dir {
            let d2h_toml = current.join("d2h.toml");
            if d2h_toml.is_file() {
                return Config::load(&d2h_toml).map(Some);
            }
            let pyproject = current.join("pyproject.toml");
            if pyproject.is_file() {
                let text = read(&pyproject)?;
                if has_tool_d2h(&text) {
                    return Config::parse(&text, ConfigKind::Pyproject, &pyproject).map(Some);
                }
            }
            dir = current.parent();
        }
        Ok(None)
    }

    /// Loads a file named explicitly: `[tool.d2h]` of a file named
    /// `pyproject.toml`, the top-level keys of any other.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let kind = if path.file_name().is_some_and(|n| n == "pyproject.toml") {
            ConfigKind::Pyproject
        } else {
            ConfigKind::D2hToml
        };
        Config::parse(&text, kind, path)
    }

    /// Parses and validates a configuration file's text.
    pub fn parse(text: &str, kind: ConfigKind, path: &Path) -> Result<Config, ConfigError> {
        let source = ConfigSource {
            path: path.to_path_buf(),
            kind,
        };
        let place = Place::of(&source);
        let document = DeTable::parse(text).map_err(|e| place.syntax(text, &e))?;
        let keys = match kind {
            ConfigKind::D2hToml => document,
            ConfigKind::Pyproject => match tool_d2h(document) {
                None => Spanned::new(0..0, DeTable::new()),
                Some(Ok(table)) => table,
                Some(Err(other)) => {
                    let message = format!("expected a table, found {}", other.type_str());
                    return Err(Place {
                        section: String::new(),
                        ..place
                    }
                    .bad("tool.d2h", message));
                }
            },
        };
        // The parsed table is kept to name the key of an error by its span.
        let mut config = Config::deserialize(toml::de::Deserializer::from(keys.clone()))
            .map_err(|e| place.deserializing(keys.get_ref(), &e))?;
        config.source = Some(source);
        Ok(config)
    }
}

/// `[tool.d2h]` of a pyproject.toml: `None` when there is none, the value
/// when it is not a table.
fn tool_d2h(document: Spanned<DeTable<'_>>) -> Option<Result<Spanned<DeTable<'_>>, DeValue<'_>>> {
    let tool = document.into_inner().remove("tool")?;
    let DeValue::Table(mut tool) = tool.into_inner() else {
        return None;
    };
    let d2h = tool.remove("d2h")?;
    let span = d2h.span();
    Some(match d2h.into_inner() {
        DeValue::Table(table) => Ok(Spanned::new(span, table)),
        other => Err(other),
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        file: display_file(path),
        message: crate::walk::describe_io(&e),
    })
}

/// Whether a pyproject.toml has a `[tool.d2h]` table (or `tool.d2h.*` keys),
/// told from its text before parsing it.
fn has_tool_d2h(text: &str) -> bool {
    match text.parse::<toml::Table>() {
        Ok(table) => table.get("tool").and_then(|t| t.get("d2h")).is_some(),
        // A broken pyproject.toml that mentions d2h is reported; others are not ours to judge.
        Err(_) => text.contains("tool.d2h"),
    }
}

/// The project root of `path`: the nearest directory at or above it holding
/// a `d2h.toml`, a `pyproject.toml` or a `.git`.
pub fn project_root(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut dir = if absolute.is_dir() {
        Some(absolute.as_path())
    } else {
        absolute.parent()
    };
    while let Some(current) = dir {
        if ROOT_MARKERS.iter().any(|m| current.join(m).exists()) {
            return Some(current.to_path_buf());
        }
        dir = current.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, ConfigKind::D2hToml, Path::new("d2h.toml"))
    }

    fn pyproject(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, ConfigKind::Pyproject, Path::new("pyproject.toml"))
    }

    #[test]
    fn every_key_parses() {
        let config = parse(
            r#"
select = ["D2H00", "D2H901"]
ignore = ["D2H007"]
hot-functions = ["run_frame", "track*"]
extend-hot-functions = ["forward"]
guard-names = ["trace_on"]
cold-paths = ["scripts/**"]
exclude = ["vendor"]
extend-exclude = ["legacy/*.py"]
transfer-functions = ["utils.to_numpy"]
require-reason = true
[severity]
D2H005 = "low"
scalar-read = "medium"
[per-file-ignores]
"tests/**" = ["D2H001"]
"#,
        )
        .unwrap();
        assert_eq!(config.select.as_deref().unwrap().len(), 2);
        assert_eq!(config.severity[&RuleId::HostFormat], Severity::Low);
        assert_eq!(config.severity[&RuleId::ScalarRead], Severity::Medium);
        assert_eq!(
            config.per_file_ignores,
            vec![("tests/**".to_string(), vec!["D2H001".to_string()])]
        );
        assert!(config.require_reason);
        let policy = config.policy();
        assert!(policy.hot_by_name("run_frame").is_some());
        assert!(policy.hot_by_name("tracker_step").is_some());
        assert!(policy.hot_by_name("forward").is_some());
        assert!(policy.hot_by_name("process_frame").is_none());
        assert!(policy.is_guard_name("self.TRACE_ON"));
        assert_eq!(
            policy.transfer_functions,
            vec![TransferFunction::new("utils.to_numpy", RuleId::ExplicitCopy)]
        );
        assert!(config.settings().is_ok());
    }

    #[test]
    fn transfer_functions_as_a_table_name_their_rules() {
        let config = parse(
            "[transfer-functions]\n\"Gate::to_vec2\" = \"D2H001\"\n\"Gate::to_scalar\" = \"scalar-read\"\n\"io.sync\" = \"d2h004\"\n",
        )
        .unwrap();
        // In name order (a TOML table's), as `d2h config` prints them.
        assert_eq!(
            config.transfer_functions,
            vec![
                TransferFunction::new("Gate::to_scalar", RuleId::ScalarRead),
                TransferFunction::new("Gate::to_vec2", RuleId::ExplicitCopy),
                TransferFunction::new("io.sync", RuleId::ExplicitSync),
            ]
        );
        // Printed as a table (not every entry is a copy), and read back the same.
        let printed = config.to_toml();
        assert!(
            printed
                .contains("[transfer-functions]\n\"Gate::to_scalar\" = \"D2H002\"\n\"Gate::to_vec2\" = \"D2H001\"\n"),
            "{printed}"
        );
        let back = parse(&printed).unwrap();
        assert_eq!(back.transfer_functions, config.transfer_functions);
        // A list is copies, printed as a list.
        let list = parse("transfer-functions = [\"utils.to_numpy\"]\n").unwrap();
        assert!(list.to_toml().contains("transfer-functions = [\"utils.to_numpy\"]"));
    }

    #[test]
    fn unknown_keys_name_the_file_and_suggest() {
        let err = pyproject("[tool.d2h]\nhot-function = [\"f\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pyproject.toml: [tool.d2h] unknown key `hot-function` (did you mean `hot-functions`?)"
        );
        let err = parse("colour = 1\n").unwrap_err();
        assert_eq!(err.to_string(), "d2h.toml: unknown key `colour`");
        let err = parse("require_reason = true\n").unwrap_err();
        assert!(err.to_string().contains("did you mean `require-reason`"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases = [
            (
                "select = \"D2H001\"",
                "`select`: expected an array of strings, found \"D2H001\"",
            ),
            ("select = [\"X1\"]", "`select`: `X1` is not a rule code"),
            (
                "severity = { D2H001 = \"high\" }",
                "`severity.D2H001`: expected \"critical\", \"medium\" or \"low\", found \"high\"",
            ),
            (
                "min-confidence = \"sure\"",
                "`min-confidence`: expected \"certain\", \"likely\" or \"possible\", found \"sure\"",
            ),
            (
                "severity = { D2H999 = \"low\" }",
                "`severity.D2H999`: `D2H999` is not a rule code",
            ),
            (
                "require-reason = \"yes\"",
                "`require-reason`: expected a boolean, found \"yes\"",
            ),
            (
                "hot-functions = [\"a.b\"]",
                "`hot-functions`: `a.b` is not a function name",
            ),
            (
                "transfer-functions = [\"utils.\"]",
                "`transfer-functions`: `utils.` is not a dotted function name",
            ),
            (
                "transfer-functions = { \"Gate:to_vec2\" = \"D2H001\" }",
                "`transfer-functions`: `Gate:to_vec2` is not a dotted function name",
            ),
            (
                "transfer-functions = { \"Gate::to_vec2\" = \"D2H901\" }",
                "`transfer-functions.\"Gate::to_vec2\"`: `D2H901` is not a transfer rule",
            ),
            (
                "transfer-functions = { \"Gate::to_vec2\" = 1 }",
                "`transfer-functions.\"Gate::to_vec2\"`: expected a rule code or name",
            ),
            (
                "transfer-functions = \"utils.to_numpy\"",
                "`transfer-functions`: expected an array of names or a table of name = rule",
            ),
            ("cold-paths = [\"a/[b\"]", "`cold-paths`: invalid glob `a/[b`"),
            (
                "per-file-ignores = { \"t/**\" = [\"nope\"] }",
                "`per-file-ignores.\"t/**\"`: `nope` is not a rule code",
            ),
            (
                "guard-names = [1]",
                "`guard-names`: expected an array of strings, found integer 1",
            ),
        ];
        for (text, message) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with("d2h.toml: "), "{err}");
            assert!(err.contains(message), "{text}: {err}");
        }
        let err = pyproject("[tool.d2h]\nselect = 1\n").unwrap_err().to_string();
        assert!(err.starts_with("pyproject.toml: [tool.d2h] `select`"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_carry_a_line() {
        let err = parse("select = [\n\"D2H001\"\nignore = 1\n").unwrap_err().to_string();
        assert!(err.starts_with("d2h.toml: invalid TOML: "), "{err}");
        assert!(err.contains("(line "), "{err}");
    }

    #[test]
    fn selection_prefers_the_more_specific_entry() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_selected(RuleId::ExplicitCopy, &s(&["D2H"]), &[]));
        assert!(!is_selected(RuleId::ExplicitCopy, &s(&["D2H"]), &s(&["D2H001"])));
        assert!(is_selected(RuleId::ExplicitCopy, &s(&["D2H001"]), &s(&["D2H00"])));
        assert!(!is_selected(RuleId::ScalarRead, &s(&["D2H001"]), &[]));
        assert!(!is_selected(RuleId::HostFormat, &s(&["D2H"]), &s(&["host-format"])));
        assert!(!is_selected(RuleId::UnusedSuppression, &s(&["D2H00"]), &[]));
    }

    #[test]
    fn effective_configuration_round_trips() {
        let config = parse(
            "ignore = [\"D2H007\"]\nextend-exclude = [\"legacy\"]\n[severity]\nD2H005 = \"low\"\n[per-file-ignores]\n\"scripts/*.py\" = [\"D2H001\"]\n",
        )
        .unwrap();
        let text = config.to_toml();
        assert!(text.contains("ignore = [\"D2H007\"]"), "{text}");
        assert!(text.contains("\"scripts/*.py\" = [\"D2H001\"]"), "{text}");
        let again = parse(&text).unwrap();
        assert_eq!(again.effective_exclude(), config.effective_exclude());
        assert_eq!(again.severity, config.severity);
        assert_eq!(again.per_file_ignores, config.per_file_ignores);
        assert_eq!(again.effective_hot_functions(), config.effective_hot_functions());
        let defaults = Config::default().to_toml();
        assert!(defaults.contains("built-in defaults"));
        assert!(parse(defaults.as_str()).is_ok());
    }

    #[test]
    fn pyproject_without_the_table_is_empty() {
        let config = pyproject("[project]\nname = \"x\"\n").unwrap();
        assert_eq!(config.select, None);
        assert!(has_tool_d2h("[tool.d2h]\n"));
        assert!(!has_tool_d2h("[tool.ruff]\n"));
    }

    #[test]
    fn typos_are_close_to_keys() {
        assert_eq!(closest("selct", KEYS), Some("select"));
        assert_eq!(closest("extend_exclude", KEYS), Some("extend-exclude"));
        assert_eq!(closest("zzzzzzzz", KEYS), None);
    }
}
