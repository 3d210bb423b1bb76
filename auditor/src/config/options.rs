//! [`Config`]: the keys of a configuration, one field each, read and checked
//! by serde, and what they make of the audit (the [`Policy`] that judges
//! sites, the [`Settings`] that filter findings).
//!
//! The field list is the key list: serde rejects any other key, [`KEYS`]
//! reads the names from the derived `Deserialize`, `d2h config` prints the
//! fields in their order, and a test checks the module's table of keys
//! against them. A new key is a field here and a row in that table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use d2h_rules::{Confidence, RuleId, Severity};
use serde::{Deserialize, Serialize};

use super::errors::{ConfigError, Place};
use super::shapes;
use super::values::{is_selected, selector_matches, Glob, GuardName, HotFunction, Selector};
use super::ConfigSource;
use crate::filter::{Patterns, Settings};
use crate::policy::{Policy, TransferFunction};

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

/// A configuration as written (validated), before it is applied: the keys of
/// a `d2h.toml`, or of `[tool.d2h]` in a `pyproject.toml`, in the order
/// `d2h config` prints them. A key that is not a field is an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `None` for the built-in defaults.
    #[serde(skip)]
    pub source: Option<ConfigSource>,
    /// The rules that report (`None`: all, `["D2H"]`); the more specific of
    /// a `select` and an `ignore` entry wins.
    #[serde(deserialize_with = "shapes::optional_list")]
    pub select: Option<Vec<Selector>>,
    #[serde(deserialize_with = "shapes::list")]
    pub ignore: Vec<Selector>,
    /// Each selected rule's findings get that severity (a later, more
    /// specific selector over an earlier prefix).
    #[serde(deserialize_with = "shapes::severities")]
    pub severity: BTreeMap<RuleId, Severity>,
    /// Findings less sure than this are dropped (`None`: `possible`, all).
    #[serde(deserialize_with = "shapes::confidence")]
    pub min_confidence: Option<Confidence>,
    /// Replaces the built-in hot roots.
    #[serde(deserialize_with = "shapes::optional_list")]
    pub hot_functions: Option<Vec<HotFunction>>,
    /// Adds to the hot roots.
    #[serde(deserialize_with = "shapes::list", skip_serializing_if = "Vec::is_empty")]
    pub extend_hot_functions: Vec<HotFunction>,
    /// Adds to the built-in guard words.
    #[serde(deserialize_with = "shapes::list")]
    pub guard_names: Vec<GuardName>,
    #[serde(deserialize_with = "shapes::list")]
    pub cold_paths: Vec<Glob>,
    /// Glob = rule selectors, in file order.
    #[serde(with = "shapes::per_file_ignores")]
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// Replaces [`DEFAULT_EXCLUDE`].
    #[serde(deserialize_with = "shapes::optional_list")]
    pub exclude: Option<Vec<Glob>>,
    /// Adds to the excluded paths.
    #[serde(deserialize_with = "shapes::list", skip_serializing_if = "Vec::is_empty")]
    pub extend_exclude: Vec<Glob>,
    /// In file order (name order for a table).
    #[serde(with = "shapes::transfer_functions")]
    pub transfer_functions: Vec<TransferFunction>,
    #[serde(deserialize_with = "shapes::boolean")]
    pub require_reason: bool,
}

/// The keys a configuration may hold, in the order `d2h config` prints them:
/// [`Config`]'s fields, as its `Deserialize` names them.
pub const KEYS: Keys = Keys;

/// The type of [`KEYS`]: iterating it asks [`Config`]'s `Deserialize` for its fields.
#[derive(Debug, Clone, Copy)]
pub struct Keys;

impl IntoIterator for Keys {
    type Item = &'static str;
    type IntoIter = std::iter::Copied<std::slice::Iter<'static, &'static str>>;

    fn into_iter(self) -> Self::IntoIter {
        struct_fields::<Config>().iter().copied()
    }
}

/// The field names a derived `Deserialize` of a struct asks for: it is handed
/// a deserializer that records them and gives up.
fn struct_fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{value::Error, Error as _, Visitor};

    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Error> {
            *self.0 = fields;
            Err(Error::custom("only the fields were asked for"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

impl Config {
    /// The directory the configuration's globs are relative to.
    pub fn base_dir(&self) -> Option<PathBuf> {
        let path = &self.source.as_ref()?.path;
        let absolute = std::path::absolute(path).ok()?;
        let dir = absolute.parent()?.to_path_buf();
        Some(dir.canonicalize().unwrap_or(dir))
    }

    /// The hot-function entries in effect (`name` or `prefix*`).
    pub fn effective_hot_functions(&self) -> Vec<HotFunction> {
        let mut entries = match &self.hot_functions {
            Some(list) => list.clone(),
            None => {
                let policy = Policy::default();
                let names = policy.hot_names.iter().cloned();
                let prefixes = policy.hot_prefixes.iter().map(|p| format!("{p}*"));
                names
                    .chain(prefixes)
                    .map(|entry| HotFunction::try_from(entry).expect("the built-in hot roots are names"))
                    .collect()
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
    pub fn effective_exclude(&self) -> Vec<Glob> {
        let mut globs = self.exclude.clone().unwrap_or_else(|| {
            DEFAULT_EXCLUDE
                .iter()
                .map(|glob| Glob::try_from(glob.to_string()).expect("the default excludes are globs"))
                .collect()
        });
        for extra in &self.extend_exclude {
            if !globs.contains(extra) {
                globs.push(extra.clone());
            }
        }
        globs
    }

    /// The selectors in effect for `select`.
    pub fn effective_select(&self) -> Vec<Selector> {
        self.select
            .clone()
            .unwrap_or_else(|| vec![Selector::try_from("D2H".to_string()).expect("D2H selects every rule")])
    }

    /// The confidence threshold in effect (`possible`: every finding).
    pub fn effective_min_confidence(&self) -> Confidence {
        self.min_confidence.unwrap_or(Confidence::Possible)
    }

    /// The configuration in effect: the defaults filled in, the `extend-`
    /// keys folded into the lists they extend. What `d2h config` prints.
    pub fn effective(&self) -> Config {
        Config {
            source: None,
            select: Some(self.effective_select()),
            min_confidence: Some(self.effective_min_confidence()),
            hot_functions: Some(self.effective_hot_functions()),
            extend_hot_functions: Vec::new(),
            exclude: Some(self.effective_exclude()),
            extend_exclude: Vec::new(),
            ..self.clone()
        }
    }

    /// Applies the keys that change how sites are judged to a policy.
    pub fn apply_to_policy(&self, policy: &mut Policy) {
        if self.hot_functions.is_some() || !self.extend_hot_functions.is_empty() {
            policy.hot_names.clear();
            policy.hot_prefixes.clear();
            for entry in self.effective_hot_functions() {
                match entry.prefix() {
                    Some(prefix) => policy.hot_prefixes.push(prefix.to_string()),
                    None => policy.hot_names.push(entry.to_string()),
                }
            }
        }
        for name in &self.guard_names {
            let lower = name.as_str().to_ascii_lowercase();
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
        let place = match &self.source {
            Some(source) => Place::of(source),
            None => Place {
                file: "<defaults>".to_string(),
                section: String::new(),
            },
        };
        let select = self.effective_select();
        let enabled: Vec<RuleId> = RuleId::all()
            .filter(|id| is_selected(*id, &select, &self.ignore))
            .collect();
        let compile = |key: &str, globs: &[String]| Patterns::new(globs).map_err(|m| place.bad(key, m));
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
            min_confidence: self.effective_min_confidence(),
            cold_paths: compile("cold-paths", &strings(&self.cold_paths))?,
            per_file_ignores,
            exclude: compile("exclude", &strings(&self.effective_exclude()))?,
            require_reason: self.require_reason,
        })
    }
}

fn strings<T: AsRef<str>>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| v.as_ref().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first column of the module's table of keys (`config/mod.rs`).
    fn documented_keys() -> Vec<&'static str> {
        include_str!("mod.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `"))
            .flat_map(|row| {
                // "select` / `ignore` | …": the first cell's names are every other piece.
                let first_cell = row.split(" | ").next().unwrap_or_default();
                first_cell.split('`').step_by(2).filter(|name| !name.is_empty())
            })
            .collect()
    }

    #[test]
    fn the_keys_are_the_fields_and_each_is_documented() {
        let keys: Vec<&str> = KEYS.into_iter().collect();
        assert_eq!(keys.first(), Some(&"select"), "{keys:?}");
        assert!(keys.contains(&"per-file-ignores"), "{keys:?}");
        assert!(!keys.contains(&"source"), "{keys:?}");
        let mut documented = documented_keys();
        let mut sorted = keys.clone();
        documented.sort_unstable();
        sorted.sort_unstable();
        assert_eq!(
            documented, sorted,
            "the table in config/mod.rs and Config's fields differ"
        );
    }

    #[test]
    fn every_key_but_the_extensions_is_printed() {
        let printed = Config::default().to_toml();
        for key in KEYS {
            let shown = printed.contains(&format!("\n{key} = ")) || printed.contains(&format!("\n[{key}]\n"));
            assert_eq!(shown, !key.starts_with("extend-"), "{key}:\n{printed}");
        }
    }
}
