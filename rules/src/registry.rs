//! The one table that assigns codes to rules.
//!
//! Codes are language-neutral: the Python and Rust front ends and the runtime
//! transfer hooks all report under the same ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rules;
use crate::Rule;

/// A rule of the catalog. Serialises as its code (`"D2H001"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    ExplicitCopy,
    ScalarRead,
    DataDependentShape,
    ExplicitSync,
    HostFormat,
    HostLibrary,
    BlockingUpload,
    UnusedSuppression,
    MissingSuppressionReason,
}

/// The registry: code, id and rule page, in code order.
const REGISTRY: &[(&str, RuleId, &Rule)] = &[
    ("D2H001", RuleId::ExplicitCopy, &rules::explicit_copy::EXPLICIT_COPY),
    ("D2H002", RuleId::ScalarRead, &rules::scalar_read::SCALAR_READ),
    (
        "D2H003",
        RuleId::DataDependentShape,
        &rules::data_dependent_shape::DATA_DEPENDENT_SHAPE,
    ),
    ("D2H004", RuleId::ExplicitSync, &rules::explicit_sync::EXPLICIT_SYNC),
    ("D2H005", RuleId::HostFormat, &rules::host_format::HOST_FORMAT),
    ("D2H006", RuleId::HostLibrary, &rules::host_library::HOST_LIBRARY),
    (
        "D2H007",
        RuleId::BlockingUpload,
        &rules::blocking_upload::BLOCKING_UPLOAD,
    ),
    (
        "D2H901",
        RuleId::UnusedSuppression,
        &rules::unused_suppression::UNUSED_SUPPRESSION,
    ),
    (
        "D2H902",
        RuleId::MissingSuppressionReason,
        &rules::missing_suppression_reason::MISSING_SUPPRESSION_REASON,
    ),
];

impl RuleId {
    /// Every rule, in code order.
    pub fn all() -> impl ExactSizeIterator<Item = RuleId> {
        REGISTRY.iter().map(|(_, id, _)| *id)
    }

    fn entry(self) -> &'static (&'static str, RuleId, &'static Rule) {
        REGISTRY
            .iter()
            .find(|(_, id, _)| *id == self)
            .expect("every RuleId has a registry entry (checked by a test)")
    }

    /// The rule's code, e.g. `D2H001`.
    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// The rule's catalog entry (name, summary, fix hint, page).
    pub fn rule(self) -> &'static Rule {
        self.entry().2
    }

    /// The rule's kebab-case name, e.g. `explicit-copy`.
    pub fn name(self) -> &'static str {
        self.rule().name
    }

    /// Looks a rule up by code (`D2H003`, case-insensitive) or by name (`data-dependent-shape`).
    pub fn lookup(code_or_name: &str) -> Result<RuleId, UnknownRule> {
        let wanted = code_or_name.trim();
        REGISTRY
            .iter()
            .find(|(code, _, rule)| code.eq_ignore_ascii_case(wanted) || rule.name == wanted)
            .map(|(_, id, _)| *id)
            .ok_or_else(|| UnknownRule(wanted.to_string()))
    }

    /// Whether the rule is about d2h's own suppression comments (`D2H9xx`),
    /// not about a transfer in the audited code.
    pub fn is_meta(self) -> bool {
        matches!(self, RuleId::UnusedSuppression | RuleId::MissingSuppressionReason)
    }

    /// The rules whose code starts with `prefix` (`D2H00` selects D2H001..D2H009).
    pub fn matching_prefix(prefix: &str) -> impl Iterator<Item = RuleId> + '_ {
        REGISTRY
            .iter()
            .filter(move |(code, _, _)| code.len() >= prefix.len() && code[..prefix.len()].eq_ignore_ascii_case(prefix))
            .map(|(_, id, _)| *id)
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
        let codes: HashSet<_> = REGISTRY.iter().map(|(code, _, _)| *code).collect();
        let names: HashSet<_> = REGISTRY.iter().map(|(_, _, rule)| rule.name).collect();
        let ids: HashSet<_> = REGISTRY.iter().map(|(_, id, _)| *id).collect();
        assert_eq!(codes.len(), REGISTRY.len());
        assert_eq!(names.len(), REGISTRY.len());
        assert_eq!(ids.len(), REGISTRY.len());
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
            assert!(!id.rule().fix.is_empty() && !id.rule().summary.is_empty());
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
        assert_eq!(RuleId::matching_prefix("D2H").count(), REGISTRY.len());
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
