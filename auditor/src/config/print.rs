//! `d2h config`'s text: the configuration in effect, serialized, laid out as
//! a `d2h.toml` (plain keys in field order, then one section per table).

use std::fmt::Write as _;

use super::errors::toml_key;
use super::options::{Config, KEYS};
use super::{display_file, ConfigKind};
use crate::policy::Policy;

impl Config {
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
                let _ = writeln!(
                    out,
                    "# d2h configuration in effect, from {}{where_}",
                    display_file(&source.path)
                );
            }
            None => out.push_str("# d2h configuration in effect: no d2h.toml or [tool.d2h] found, built-in defaults\n"),
        }
        out.push_str("# (the keys of a d2h.toml; in pyproject.toml they go under [tool.d2h])\n\n");
        let toml::Value::Table(values) =
            toml::Value::try_from(self.effective()).expect("a configuration serializes as a TOML table")
        else {
            unreachable!("a struct serializes as a table")
        };
        let mut sections = String::new();
        for key in KEYS {
            match values.get(key) {
                None => {}
                Some(toml::Value::Table(table)) => {
                    let _ = writeln!(sections, "\n[{key}]");
                    for (name, value) in table {
                        let _ = writeln!(sections, "{} = {value}", toml_key(name));
                    }
                }
                Some(value) => {
                    if let Some(note) = note(key) {
                        let _ = writeln!(out, "# {note}");
                    }
                    let _ = writeln!(out, "{key} = {value}");
                }
            }
        }
        out + &sections
    }
}

/// A comment printed above a key, for what its value does not show.
fn note(key: &str) -> Option<String> {
    match key {
        "guard-names" => Some(format!(
            "guard-names adds to the built-in guard words ({}), matched as parts of names in any case",
            Policy::default().guard_fragments.join(", ")
        )),
        _ => None,
    }
}
