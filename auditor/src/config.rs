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
//! | `hot-functions` | names, or prefixes ending in `*` | replaces the built-in hot roots |
//! | `extend-hot-functions` | same | adds to them |
//! | `guard-names` | names | more debug/logging flags (parts of names, any case) |
//! | `cold-paths` | globs | findings there are low |
//! | `per-file-ignores` | table: glob → rules | rules off in matching files |
//! | `exclude` / `extend-exclude` | globs | paths not audited (replaces / adds to the defaults) |
//! | `transfer-functions` | qualified names (`utils.to_numpy`, `Gate::to_vec2`), or a table: name → rule | calls of them are sites of that rule (D2H001 for a list) |
//! | `require-reason` | bool | suppressions without a reason are D2H902 findings |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use d2h_rules::{RuleId, Severity};

use crate::filter::{Patterns, Settings};
use crate::policy::{Policy, TransferFunction};

/// The keys a configuration may hold, in the order `d2h config` prints them.
pub const KEYS: &[&str] = &[
    "select",
    "ignore",
    "severity",
    "hot-functions",
    "extend-hot-functions",
    "guard-names",
    "cold-paths",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "transfer-functions",
    "require-reason",
];

/// Paths never audited unless `exclude` replaces this list (hidden files and
/// `.gitignore`d paths are skipped by the walk anyway).
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pypackages__",
    "_build",
    "build",
    "dist",
    "node_modules",
    "site-packages",
];

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

/// A configuration as written (validated), before it is applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `None` for the built-in defaults.
    pub source: Option<ConfigSource>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub severity: BTreeMap<RuleId, Severity>,
    pub hot_functions: Option<Vec<String>>,
    pub extend_hot_functions: Vec<String>,
    pub guard_names: Vec<String>,
    pub cold_paths: Vec<String>,
    /// In file order.
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
    /// In file order (name order for a table).
    pub transfer_functions: Vec<TransferFunction>,
    pub require_reason: bool,
}

/// A configuration that cannot be used; each names the file, and the key where one is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    #[error("{file}: invalid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {section}unknown key `{key}`{hint}")]
    UnknownKey {
        file: String,
        /// `[tool.d2h] ` for a pyproject.toml, empty for a d2h.toml.
        section: String,
        key: String,
        /// ` (did you mean `...`?)` or empty.
        hint: String,
    },
    #[error("{file}: {section}`{key}`: {message}")]
    BadValue {
        file: String,
        section: String,
        key: String,
        message: String,
    },
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
        let file = display_file(path);
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            file: file.clone(),
            message: e.message().to_string() + &line_of(text, e.span()),
        })?;
        let section = match kind {
            ConfigKind::Pyproject => "[tool.d2h] ",
            ConfigKind::D2hToml => "",
        };
        let ctx = Ctx {
            file: file.clone(),
            section: section.to_string(),
        };
        let d2h = match kind {
            ConfigKind::D2hToml => table,
            ConfigKind::Pyproject => match table.get("tool").and_then(|t| t.get("d2h")) {
                None => toml::Table::new(),
                Some(toml::Value::Table(t)) => t.clone(),
                Some(other) => {
                    return Err(ConfigError::BadValue {
                        file,
                        section: String::new(),
                        key: "tool.d2h".to_string(),
                        message: format!("expected a table, found {}", other.type_str()),
                    })
                }
            },
        };
        let mut config = Config {
            source: Some(ConfigSource {
                path: path.to_path_buf(),
                kind,
            }),
            ..Config::default()
        };
        for (key, value) in &d2h {
            match key.as_str() {
                "select" => config.select = Some(ctx.rule_selectors(key, value)?),
                "ignore" => config.ignore = ctx.rule_selectors(key, value)?,
                "severity" => config.severity = ctx.severities(key, value)?,
                "hot-functions" => config.hot_functions = Some(ctx.function_names(key, value, true)?),
                "extend-hot-functions" => config.extend_hot_functions = ctx.function_names(key, value, true)?,
                "guard-names" => config.guard_names = ctx.function_names(key, value, false)?,
                "cold-paths" => config.cold_paths = ctx.globs(key, value)?,
                "per-file-ignores" => config.per_file_ignores = ctx.per_file_ignores(key, value)?,
                "exclude" => config.exclude = Some(ctx.globs(key, value)?),
                "extend-exclude" => config.extend_exclude = ctx.globs(key, value)?,
                "transfer-functions" => config.transfer_functions = ctx.transfer_functions(key, value)?,
                "require-reason" => {
                    config.require_reason = value
                        .as_bool()
                        .ok_or_else(|| ctx.bad(key, expected("a boolean", value)))?
                }
                unknown => {
                    let hint = closest(unknown, KEYS)
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    return Err(ConfigError::UnknownKey {
                        file,
                        section: section.to_string(),
                        key: unknown.to_string(),
                        hint,
                    });
                }
            }
        }
        Ok(config)
    }

    /// The directory the configuration's globs are relative to.
    pub fn base_dir(&self) -> Option<PathBuf> {
        let path = &self.source.as_ref()?.path;
        let absolute = std::path::absolute(path).ok()?;
        let dir = absolute.parent()?.to_path_buf();
        Some(dir.canonicalize().unwrap_or(dir))
    }

    /// The hot-function entries in effect (`name` or `prefix*`).
    pub fn effective_hot_functions(&self) -> Vec<String> {
        let mut entries = match &self.hot_functions {
            Some(list) => list.clone(),
            None => {
                let policy = Policy::default();
                let mut list = policy.hot_names.clone();
                list.extend(policy.hot_prefixes.iter().map(|p| format!("{p}*")));
                list
            }
        };
        for extra in &self.extend_hot_functions {
            if !entries.contains(extra) {
                entries.push(extra.clone());
            }
        }
        entries
    }

    /// The exclude globs in effect.
    pub fn effective_exclude(&self) -> Vec<String> {
        let mut globs = self
            .exclude
            .clone()
            .unwrap_or_else(|| DEFAULT_EXCLUDE.iter().map(|s| (*s).to_string()).collect());
        for extra in &self.extend_exclude {
            if !globs.contains(extra) {
                globs.push(extra.clone());
            }
        }
        globs
    }

    /// The selectors in effect for `select`.
    pub fn effective_select(&self) -> Vec<String> {
        self.select.clone().unwrap_or_else(|| vec!["D2H".to_string()])
    }

    /// Applies the keys that change how sites are judged to a policy.
    pub fn apply_to_policy(&self, policy: &mut Policy) {
        if self.hot_functions.is_some() || !self.extend_hot_functions.is_empty() {
            policy.hot_names.clear();
            policy.hot_prefixes.clear();
            for entry in self.effective_hot_functions() {
                match entry.strip_suffix('*') {
                    Some(prefix) => policy.hot_prefixes.push(prefix.to_string()),
                    None => policy.hot_names.push(entry),
                }
            }
        }
        for name in &self.guard_names {
            let lower = name.to_ascii_lowercase();
            if !policy.guard_fragments.contains(&lower) {
                policy.guard_fragments.push(lower);
            }
        }
        for entry in &self.transfer_functions {
            if !policy.transfer_functions.iter().any(|t| t.name == entry.name) {
                policy.transfer_functions.push(entry.clone());
            }
        }
    }

    /// The policy this configuration makes of the default one.
    pub fn policy(&self) -> Policy {
        let mut policy = Policy::default();
        self.apply_to_policy(&mut policy);
        policy
    }

    /// The compiled post-filter settings (rule selection, severities, globs).
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let ctx = Ctx {
            file: self
                .source
                .as_ref()
                .map_or_else(|| "<defaults>".to_string(), |s| display_file(&s.path)),
            section: match self.source.as_ref().map(|s| s.kind) {
                Some(ConfigKind::Pyproject) => "[tool.d2h] ".to_string(),
                _ => String::new(),
            },
        };
        let select = self.effective_select();
        let enabled: Vec<RuleId> = RuleId::all()
            .filter(|id| is_selected(*id, &select, &self.ignore))
            .collect();
        let compile = |key: &str, globs: &[String]| Patterns::new(globs).map_err(|m| ctx.bad(key, m));
        let mut per_file_ignores = Vec::new();
        for (glob, rules) in &self.per_file_ignores {
            let patterns = compile("per-file-ignores", std::slice::from_ref(glob))?;
            let ids: Vec<RuleId> = RuleId::all()
                .filter(|id| rules.iter().any(|r| selector_matches(r, *id).is_some()))
                .collect();
            per_file_ignores.push((patterns, ids));
        }
        Ok(Settings {
            base: self.base_dir(),
            enabled,
            severity: self.severity.clone(),
            cold_paths: compile("cold-paths", &self.cold_paths)?,
            per_file_ignores,
            exclude: compile("exclude", &self.effective_exclude())?,
            require_reason: self.require_reason,
        })
    }

    /// The configuration in effect, as TOML (the keys of a `d2h.toml`; under
    /// `[tool.d2h]` in a `pyproject.toml`). Feeding it back gives the same audit.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        match &self.source {
            Some(source) => {
                let where_ = match source.kind {
                    ConfigKind::Pyproject => " [tool.d2h]",
                    ConfigKind::D2hToml => "",
                };
                out.push_str(&format!(
                    "# d2h configuration in effect, from {}{where_}\n",
                    display_file(&source.path)
                ));
            }
            None => out.push_str("# d2h configuration in effect: no d2h.toml or [tool.d2h] found, built-in defaults\n"),
        }
        out.push_str("# (the keys of a d2h.toml; in pyproject.toml they go under [tool.d2h])\n\n");
        let array = |items: &[String]| toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect());
        let line = |out: &mut String, key: &str, value: toml::Value| {
            out.push_str(&format!("{key} = {value}\n"));
        };
        line(&mut out, "select", array(&self.effective_select()));
        line(&mut out, "ignore", array(&self.ignore));
        line(&mut out, "hot-functions", array(&self.effective_hot_functions()));
        let builtin = Policy::default().guard_fragments.join(", ");
        out.push_str(&format!(
            "# guard-names adds to the built-in guard words ({builtin}), matched as parts of names in any case\n"
        ));
        line(&mut out, "guard-names", array(&self.guard_names));
        line(&mut out, "cold-paths", array(&self.cold_paths));
        line(&mut out, "exclude", array(&self.effective_exclude()));
        // A list when every entry is a copy (D2H001), as most configurations write it; a table otherwise.
        let all_copies = self.transfer_functions.iter().all(|t| t.rule == RuleId::ExplicitCopy);
        if all_copies {
            let names: Vec<String> = self.transfer_functions.iter().map(|t| t.name.clone()).collect();
            line(&mut out, "transfer-functions", array(&names));
        }
        line(&mut out, "require-reason", toml::Value::Boolean(self.require_reason));
        out.push_str("\n[severity]\n");
        for (rule, severity) in &self.severity {
            line(
                &mut out,
                rule.code(),
                toml::Value::String(severity.as_str().to_string()),
            );
        }
        out.push_str("\n[per-file-ignores]\n");
        for (glob, rules) in &self.per_file_ignores {
            line(&mut out, &toml_key(glob), array(rules));
        }
        if !all_copies {
            out.push_str("\n[transfer-functions]\n");
            for entry in &self.transfer_functions {
                line(
                    &mut out,
                    &toml_key(&entry.name),
                    toml::Value::String(entry.rule.code().to_string()),
                );
            }
        }
        out
    }
}

/// A TOML key, quoted when it is not a bare key.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    }
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

/// ` (line N)` for a TOML error's span.
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

/// Where values are checked, for error messages.
struct Ctx {
    file: String,
    section: String,
}

fn expected(what: &str, found: &toml::Value) -> String {
    format!("expected {what}, found {}", describe(found))
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(i) => format!("integer {i}"),
        toml::Value::Float(f) => format!("float {f}"),
        toml::Value::Boolean(b) => format!("boolean {b}"),
        other => other.type_str().to_string(),
    }
}

impl Ctx {
    fn bad(&self, key: &str, message: String) -> ConfigError {
        ConfigError::BadValue {
            file: self.file.clone(),
            section: self.section.clone(),
            key: key.to_string(),
            message,
        }
    }

    fn strings(&self, key: &str, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
        let toml::Value::Array(items) = value else {
            return Err(self.bad(key, expected("an array of strings", value)));
        };
        items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(self.bad(key, expected("an array of strings", other))),
            })
            .collect()
    }

    fn rule_selectors(&self, key: &str, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
        let selectors = self.strings(key, value)?;
        for selector in &selectors {
            self.check_selector(key, selector)?;
        }
        Ok(selectors)
    }

    fn check_selector(&self, key: &str, selector: &str) -> Result<(), ConfigError> {
        if RuleId::all().any(|id| selector_matches(selector, id).is_some()) {
            Ok(())
        } else {
            Err(self.bad(
                key,
                format!("`{selector}` is not a rule code, code prefix or rule name (run `d2h rules` for the catalog)"),
            ))
        }
    }

    fn severities(&self, key: &str, value: &toml::Value) -> Result<BTreeMap<RuleId, Severity>, ConfigError> {
        let toml::Value::Table(table) = value else {
            return Err(self.bad(key, expected("a table of rule = severity", value)));
        };
        let mut severities = BTreeMap::new();
        for (rule, level) in table {
            let full_key = format!("{key}.{rule}");
            self.check_selector(&full_key, rule)?;
            let toml::Value::String(level_text) = level else {
                return Err(self.bad(&full_key, expected("\"critical\", \"medium\" or \"low\"", level)));
            };
            let severity: Severity = level_text.parse().map_err(|_| {
                self.bad(
                    &full_key,
                    format!("expected \"critical\", \"medium\" or \"low\", found \"{level_text}\""),
                )
            })?;
            for id in RuleId::all().filter(|id| selector_matches(rule, *id).is_some()) {
                severities.insert(id, severity);
            }
        }
        Ok(severities)
    }

    /// Python identifiers; with `prefixes`, one may end in `*`.
    fn function_names(&self, key: &str, value: &toml::Value, prefixes: bool) -> Result<Vec<String>, ConfigError> {
        let names = self.strings(key, value)?;
        for name in &names {
            let bare = if prefixes {
                name.strip_suffix('*').unwrap_or(name)
            } else {
                name
            };
            if !is_identifier(bare) {
                let what = if prefixes {
                    "a function name (`forward`) or a name prefix ending in `*` (`predict*`)"
                } else {
                    "a name (`trace_enabled`)"
                };
                return Err(self.bad(key, format!("`{name}` is not {what}")));
            }
        }
        Ok(names)
    }

    /// `["utils.to_numpy"]` (each a D2H001), or a table of name = rule
    /// (`"Gate::to_scalar" = "D2H002"`). Names are dotted (Python) or `::`
    /// paths (Rust); rules are transfer rules, by code or name.
    fn transfer_functions(&self, key: &str, value: &toml::Value) -> Result<Vec<TransferFunction>, ConfigError> {
        let entries: Vec<(String, RuleId)> = match value {
            toml::Value::Table(table) => {
                let mut entries = Vec::new();
                for (name, rule) in table {
                    let full_key = format!("{key}.{}", toml_key(name));
                    let toml::Value::String(rule_text) = rule else {
                        return Err(self.bad(&full_key, expected("a rule code or name (\"D2H001\")", rule)));
                    };
                    let id = RuleId::lookup(rule_text)
                        .ok()
                        .filter(|id| !id.is_meta())
                        .ok_or_else(|| {
                            self.bad(
                                &full_key,
                                format!("`{rule_text}` is not a transfer rule (D2H001 to D2H007, by code or name)"),
                            )
                        })?;
                    entries.push((name.clone(), id));
                }
                entries
            }
            toml::Value::Array(_) => self
                .strings(key, value)?
                .into_iter()
                .map(|name| (name, RuleId::ExplicitCopy))
                .collect(),
            other => return Err(self.bad(key, expected("an array of names or a table of name = rule", other))),
        };
        for (name, _) in &entries {
            let dotted = name.replace("::", ".");
            if !dotted.split('.').all(is_identifier) {
                return Err(self.bad(
                    key,
                    format!(
                        "`{name}` is not a dotted function name (`utils.to_numpy`) or a Rust path (`Gate::to_vec2`)"
                    ),
                ));
            }
        }
        Ok(entries
            .into_iter()
            .map(|(name, rule)| TransferFunction::new(name, rule))
            .collect())
    }

    fn globs(&self, key: &str, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
        let globs = self.strings(key, value)?;
        Patterns::new(&globs).map_err(|m| self.bad(key, m))?;
        Ok(globs)
    }

    fn per_file_ignores(&self, key: &str, value: &toml::Value) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
        let toml::Value::Table(table) = value else {
            return Err(self.bad(key, expected("a table of \"glob\" = [rules]", value)));
        };
        let mut entries = Vec::new();
        for (glob, rules) in table {
            let full_key = format!("{key}.\"{glob}\"");
            Patterns::new(std::slice::from_ref(glob)).map_err(|m| self.bad(&full_key, m))?;
            let rules = self.rule_selectors(&full_key, rules)?;
            entries.push((glob.clone(), rules));
        }
        Ok(entries)
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// How specifically `selector` (a code prefix or a rule name) matches `id`:
/// its length for a code prefix, a full code's length for a name.
pub fn selector_matches(selector: &str, id: RuleId) -> Option<usize> {
    let selector = selector.trim();
    if selector.is_empty() {
        return None;
    }
    if selector == id.name() {
        return Some(id.code().len());
    }
    let code = id.code();
    (code.len() >= selector.len() && code[..selector.len()].eq_ignore_ascii_case(selector)).then_some(selector.len())
}

/// ruff's resolution: a rule is on when some `select` entry matches it and no
/// `ignore` entry matches it at least as specifically.
pub fn is_selected(id: RuleId, select: &[String], ignore: &[String]) -> bool {
    let best = |list: &[String]| list.iter().filter_map(|s| selector_matches(s, id)).max();
    match (best(select), best(ignore)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(selected), Some(ignored)) => selected > ignored,
    }
}

/// The key closest to `unknown`, if one is close enough to be a typo.
fn closest<'k>(unknown: &str, keys: &[&'k str]) -> Option<&'k str> {
    let unknown = unknown.replace('_', "-").to_ascii_lowercase();
    keys.iter()
        .map(|k| (levenshtein(&unknown, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
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
