//! The catalog's machinery: the `catalog!` macro that turns the one list in
//! the crate root into the rule modules and [`RuleId`], and what is written
//! once over it: lookup by code or name, code prefixes, display and serde.
//!
//! Codes are language-neutral: the Python and Rust front ends and the runtime
//! transfer hooks all report under the same ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::RuleId;

/// Generates, from one line per rule (`D2H001 ExplicitCopy
/// explicit_copy::EXPLICIT_COPY`, in code order): the `rules` module with one
/// submodule per rule file, the [`RuleId`] enum (ordered as listed), and the
/// tables behind [`RuleId::all`], [`RuleId::code`] and [`RuleId::rule`].
macro_rules! catalog {
    ($($code:ident $variant:ident $module:ident :: $page:ident,)*) => {
        /// One file per rule; each file's doc comment is the rule's page.
        pub mod rules {
            $(pub mod $module;)*
        }

        /// A rule of the catalog. Serialises as its code (`"D2H001"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $(
                #[doc = concat!("`", stringify!($code), "`: see [`rules::", stringify!($module), "`].")]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in code order.
            const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The rule's code, e.g. `D2H001`.
            pub fn code(self) -> &'static str {
                match self {
                    $(RuleId::$variant => stringify!($code),)*
                }
            }

            /// The rule's catalog entry (name, summary, fix hints, page).
            pub fn rule(self) -> &'static $crate::Rule {
                match self {
                    $(RuleId::$variant => &rules::$module::$page,)*
                }
            }
        }
    };
}

impl RuleId {
    /// Every rule, in code order.
    pub fn all() -> impl ExactSizeIterator<Item = RuleId> {
        RuleId::ALL.iter().copied()
    }

    /// The rule's kebab-case name, e.g. `explicit-copy`.
    pub fn name(self) -> &'static str {
        self.rule().name
    }

    /// Looks a rule up by code (`D2H003`, case-insensitive) or by name (`data-dependent-shape`).
    pub fn lookup(code_or_name: &str) -> Result<RuleId, UnknownRule> {
        let wanted = code_or_name.trim();
        RuleId::all()
            .find(|id| id.code().eq_ignore_ascii_case(wanted) || id.name() == wanted)
            .ok_or_else(|| UnknownRule(wanted.to_string()))
    }

    /// Whether the rule is about d2h's own suppression comments (`D2H9xx`),
    /// not about a transfer in the audited code.
    pub fn is_meta(self) -> bool {
        self.code().starts_with("D2H9")
    }

    /// The rules whose code starts with `prefix` (`D2H00` selects D2H001..D2H009).
    pub fn matching_prefix(prefix: &str) -> impl Iterator<Item = RuleId> + '_ {
        RuleId::all().filter(move |id| {
            let code = id.code();
            code.len() >= prefix.len() && code[..prefix.len()].eq_ignore_ascii_case(prefix)
        })
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A code or name that is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown rule `{}` (run `d2h rules` for the catalog)", self.0)
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::lookup(s)
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        RuleId::lookup(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = RuleId::all().map(RuleId::code).collect();
        let names: HashSet<_> = RuleId::all().map(RuleId::name).collect();
        assert_eq!(codes.len(), RuleId::all().len());
        assert_eq!(names.len(), RuleId::all().len());
    }

    #[test]
    fn codes_follow_the_family_pattern_in_order() {
        let codes: Vec<_> = RuleId::all().map(RuleId::code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted);
        for code in codes {
            assert!(code.starts_with("D2H") && code.len() == 6, "{code}");
            assert!(code[3..].chars().all(|c| c.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn every_page_has_the_four_sections_and_a_fix() {
        for id in RuleId::all() {
            let page = id.rule().page();
            for section in ["## What it does", "## Why is this bad?", "## Example", "## Use instead"] {
                assert!(page.contains(section), "{id} page lacks {section}");
            }
            let rule = id.rule();
            assert!(!rule.summary.is_empty());
            assert!(
                !rule.fix.python.is_empty() && !rule.fix.rust.is_empty(),
                "{id} lacks a fix hint"
            );
        }
    }

    #[test]
    fn lookup_accepts_code_or_name_and_round_trips_through_serde() {
        assert_eq!(RuleId::lookup("d2h003"), Ok(RuleId::DataDependentShape));
        assert_eq!(RuleId::lookup("host-format"), Ok(RuleId::HostFormat));
        assert!(RuleId::lookup("D2H999").is_err());
        for id in RuleId::all() {
            let json = format!("\"{}\"", id.code());
            let back: RuleId = serde_json_like_parse(&json);
            assert_eq!(back, id);
        }
    }

    #[test]
    fn prefixes_select_families() {
        assert_eq!(RuleId::matching_prefix("D2H").count(), RuleId::all().len());
        // `D2H00` is the transfer family; `D2H9` the meta rules about suppressions.
        assert!(RuleId::matching_prefix("D2H00").all(|id| !id.is_meta()));
        assert_eq!(
            RuleId::matching_prefix("D2H9").collect::<Vec<_>>(),
            vec![RuleId::UnusedSuppression, RuleId::MissingSuppressionReason]
        );
        assert_eq!(
            RuleId::matching_prefix("D2H002").collect::<Vec<_>>(),
            vec![RuleId::ScalarRead]
        );
        assert_eq!(RuleId::matching_prefix("X").count(), 0);
    }

    /// Deserialises a JSON string literal through serde's value-less path.
    fn serde_json_like_parse(json: &str) -> RuleId {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let inner = json.trim_matches('"');
        let de: StrDeserializer<'_, Error> = inner.into_deserializer();
        RuleId::deserialize(de).unwrap()
    }
}
