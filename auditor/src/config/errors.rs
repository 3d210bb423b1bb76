//! What is wrong with a configuration, and where: a [`ConfigError`] names
//! the file and, for a bad key or value, the key (`severity.D2H001`), with a
//! "did you mean" for a key that is a typo of one.
//!
//! The key comes from the span toml's deserializer gives each error: the
//! key path whose key or value holds that span in the parsed document.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::options::KEYS;
use super::{display_file, ConfigKind, ConfigSource};

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

/// The file (as messages name it) and the section of a configuration's keys.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub file: String,
    /// `[tool.d2h] ` for a pyproject.toml, empty for a d2h.toml.
    pub section: String,
}

impl Place {
    /// Where the keys of a configuration file are.
    pub fn of(source: &ConfigSource) -> Place {
        Place {
            file: display_file(&source.path),
            section: match source.kind {
                ConfigKind::Pyproject => "[tool.d2h] ".to_string(),
                ConfigKind::D2hToml => String::new(),
            },
        }
    }

    /// Text that does not parse as TOML, with the line of the error.
    pub fn syntax(&self, text: &str, error: &toml::de::Error) -> ConfigError {
        let line = error.span().map(|span| {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        });
        ConfigError::Syntax {
            file: self.file.clone(),
            message: error.message().to_string() + &line.unwrap_or_default(),
        }
    }

    pub fn bad(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            file: self.file.clone(),
            section: self.section.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// An error of deserializing the configuration's `table`, at the key
    /// its span falls in: an unknown key with the known one it is closest
    /// to, or a bad value with what was expected.
    pub fn deserializing(&self, table: &DeTable<'_>, error: &toml::de::Error) -> ConfigError {
        let path = error.span().map(|span| key_path(table, &span)).unwrap_or_default();
        match path.as_slice() {
            [key] if !KEYS.into_iter().any(|k| k == key.as_str()) => ConfigError::UnknownKey {
                file: self.file.clone(),
                section: self.section.clone(),
                key: key.clone(),
                hint: closest(key, KEYS)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default(),
            },
            _ => {
                let mut segments = path.iter();
                let mut key = segments.next().cloned().unwrap_or_default();
                for segment in segments {
                    key.push('.');
                    key.push_str(&toml_key(segment));
                }
                self.bad(&key, error.message())
            }
        }
    }
}

/// The keys leading to `span` in `table`: the innermost key whose key or
/// value holds it (an array's entries are its key's). Empty when no key does.
fn key_path(table: &DeTable<'_>, span: &Range<usize>) -> Vec<String> {
    let holds = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    for (key, value) in table {
        if let DeValue::Table(inner) = value.get_ref() {
            let inner_path = key_path(inner, span);
            if !inner_path.is_empty() {
                return [key.get_ref().to_string()].into_iter().chain(inner_path).collect();
            }
        }
        if holds(key.span()) || holds(value.span()) {
            return vec![key.get_ref().to_string()];
        }
    }
    Vec::new()
}

/// A TOML key, quoted when it is not a bare key.
pub(super) fn toml_key(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    }
}

/// The key closest to `unknown`, if one is close enough to be a typo.
pub(super) fn closest<'k>(unknown: &str, keys: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let unknown = unknown.replace('_', "-").to_ascii_lowercase();
    keys.into_iter()
        .map(|k| (levenshtein(&unknown, k), k))
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigKind};

    fn error(text: &str, kind: ConfigKind) -> String {
        let name = match kind {
            ConfigKind::Pyproject => "pyproject.toml",
            ConfigKind::D2hToml => "d2h.toml",
        };
        Config::parse(text, kind, Path::new(name)).unwrap_err().to_string()
    }

    #[test]
    fn keys_are_found_in_sections_dotted_keys_and_inline_tables() {
        let cases = [
            ("[severity]\nD2H001 = \"high\"\n", "`severity.D2H001`: expected"),
            ("severity.D2H002 = \"bad\"\n", "`severity.D2H002`: expected"),
            (
                "severity = { D2H001 = \"low\", D2H002 = \"nope\" }\n",
                "`severity.D2H002`: expected",
            ),
            (
                "[per-file-ignores]\n\"t/**\" = [\"nope\"]\n",
                "`per-file-ignores.\"t/**\"`: `nope`",
            ),
            (
                "[per-file-ignores]\n\"t/[\" = []\n",
                "`per-file-ignores.\"t/[\"`: invalid glob",
            ),
            (
                "[transfer-functions]\n\"Gate:to_vec2\" = \"D2H001\"\n",
                "`transfer-functions`: `Gate:to_vec2`",
            ),
            (
                "[select]\nx = 1\n",
                "`select`: expected an array of strings, found table",
            ),
            (
                "[[severity]]\nD2H001 = \"low\"\n",
                "`severity`: expected a table of rule = severity, found array",
            ),
        ];
        for (text, message) in cases {
            let err = error(text, ConfigKind::D2hToml);
            assert!(err.starts_with("d2h.toml: "), "{err}");
            assert!(err.contains(message), "{text}: {err}");
        }
        let err = error("[tool.d2h.severity]\nD2H001 = 1\n", ConfigKind::Pyproject);
        assert_eq!(
            err,
            "pyproject.toml: [tool.d2h] `severity.D2H001`: expected \"critical\", \"medium\" or \"low\", found integer 1"
        );
    }

    #[test]
    fn the_first_bad_key_in_key_order_is_reported() {
        // As toml reads a table: in key order, not file order.
        let err = error("zeta = 1\nselect = 1\n", ConfigKind::D2hToml);
        assert!(err.contains("`select`: expected"), "{err}");
        let err = error(
            "select = [\"D2H001\"]\nignore = [\"X\"]\ncolour = 1\n",
            ConfigKind::D2hToml,
        );
        assert_eq!(err, "d2h.toml: unknown key `colour`");
    }

    #[test]
    fn a_tool_d2h_that_is_not_a_table_is_named() {
        assert_eq!(
            error("tool.d2h = 1\n", ConfigKind::Pyproject),
            "pyproject.toml: `tool.d2h`: expected a table, found integer"
        );
        assert!(Config::parse("tool = 1\n", ConfigKind::Pyproject, Path::new("pyproject.toml")).is_ok());
    }
}
