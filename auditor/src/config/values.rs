//! The checked strings a configuration holds: rule selectors, hot-function
//! entries, guard names and globs. Each is made by `TryFrom<String>`, whose
//! error says why the string is not one (the key is added by `errors`), so a
//! `Config` holds only valid ones.

use std::fmt;

use d2h_rules::RuleId;
use serde::Serialize;

use crate::filter::Patterns;

/// A rule selector: a code (`D2H001`), a code prefix (`D2H00`) or a rule
/// name (`scalar-read`) that matches at least one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Selector(String);

impl Selector {
    /// How specifically it matches `id` ([`selector_matches`]).
    pub fn matches(&self, id: RuleId) -> Option<usize> {
        selector_matches(&self.0, id)
    }

    /// The rules it selects, in code order.
    pub fn rules(&self) -> impl Iterator<Item = RuleId> + '_ {
        RuleId::all().filter(|id| self.matches(*id).is_some())
    }
}

impl TryFrom<String> for Selector {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let selector = Selector(text);
        if selector.rules().next().is_some() {
            Ok(selector)
        } else {
            Err(format!(
                "`{}` is not a rule code, code prefix or rule name (run `d2h rules` for the catalog)",
                selector.0
            ))
        }
    }
}

/// A hot root: a function name (`forward`), or a name prefix ending in `*`
/// (`predict*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HotFunction(String);

impl HotFunction {
    /// The prefix of a `prefix*` entry; `None` for a name.
    pub fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('*')
    }
}

impl TryFrom<String> for HotFunction {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if is_identifier(text.strip_suffix('*').unwrap_or(&text)) {
            Ok(HotFunction(text))
        } else {
            Err(format!(
                "`{text}` is not a function name (`forward`) or a name prefix ending in `*` (`predict*`)"
            ))
        }
    }
}

/// A debug or logging flag's name (`trace_enabled`), matched as a part of
/// names in any case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct GuardName(String);

impl TryFrom<String> for GuardName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if is_identifier(&text) {
            Ok(GuardName(text))
        } else {
            Err(format!("`{text}` is not a name (`trace_enabled`)"))
        }
    }
}

/// A path glob (`scripts/**`, `*_debug.py`), relative to the configuration's
/// directory; one without a `/` matches any path component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Glob(String);

impl TryFrom<String> for Glob {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Patterns::new(std::slice::from_ref(&text))?;
        Ok(Glob(text))
    }
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
pub fn is_selected<S: AsRef<str>>(id: RuleId, select: &[S], ignore: &[S]) -> bool {
    let best = |list: &[S]| list.iter().filter_map(|s| selector_matches(s.as_ref(), id)).max();
    match (best(select), best(ignore)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(selected), Some(ignored)) => selected > ignored,
    }
}

macro_rules! as_str {
    ($($value:ty),*) => {$(
        impl $value {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<$value> for String {
            fn from(value: $value) -> String {
                value.0
            }
        }

        impl AsRef<str> for $value {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $value {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

as_str!(Selector, HotFunction, GuardName, Glob);

/// A Python or Rust identifier (any script).
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}
