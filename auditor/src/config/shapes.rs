//! How each key's value is read: a list of checked strings, a table of
//! checked keys and values, a boolean, `transfer-functions`' list or table.
//!
//! A value of the wrong shape is "expected …, found …" in the configuration's
//! own words (`found integer 1`, not serde's ``invalid type: integer `1` ``).
//! The messages carry no key: toml's deserializer marks each error with the
//! span of the key or value it failed on, and `errors` names the key from it.
//! So a check belongs where its error should point: a bad table key while the
//! key is read, a bad entry while its value is read, a check of the whole
//! value after it.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use d2h_rules::{Confidence, RuleId, Severity};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::Deserialize;

use super::values::{is_identifier, Glob, Selector};
use crate::policy::TransferFunction;

/// `["a", "b"]`, each entry checked by `T::try_from`.
pub(super) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error: fmt::Display>,
{
    List::deserialize(deserializer).map(|list| list.0)
}

/// [`list`], for a key whose absence means "the defaults".
pub(super) fn optional_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error: fmt::Display>,
{
    list(deserializer).map(Some)
}

pub(super) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match toml::Value::deserialize(deserializer)? {
        toml::Value::Boolean(b) => Ok(b),
        other => Err(expected("a boolean", &other)),
    }
}

/// A table of selector = severity, applied in key order (a later, more
/// specific selector overrides an earlier prefix).
pub(super) fn severities<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<RuleId, Severity>, D::Error> {
    let mut severities = BTreeMap::new();
    for (selector, Level(severity)) in table::<_, Selector, Level>(deserializer, "a table of rule = severity")? {
        for id in selector.rules() {
            severities.insert(id, severity);
        }
    }
    Ok(severities)
}

/// `per-file-ignores`: a table of glob = [selectors], kept as written.
pub(super) mod per_file_ignores {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, Vec<String>)>, D::Error> {
        let entries = table::<_, Glob, List<Selector>>(deserializer, "a table of \"glob\" = [rules]")?;
        Ok(entries
            .into_iter()
            .map(|(glob, rules)| (glob.into(), rules.0.into_iter().map(String::from).collect()))
            .collect())
    }

    pub fn serialize<S: Serializer>(entries: &[(String, Vec<String>)], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(entries.iter().map(|(glob, rules)| (glob, rules)))
    }
}

/// `transfer-functions`: a list of names (each a D2H001), or a table of
/// name = transfer rule. Names are dotted (`utils.to_numpy`) or Rust paths
/// (`Gate::to_vec2`).
pub(super) mod transfer_functions {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<TransferFunction>, D::Error> {
        let what = "an array of names or a table of name = rule";
        let entries: Vec<(String, RuleId)> =
            match deserializer.deserialize_any(TableVisitor::<String, TransferRule>::new(what, true))? {
                Written::Table(entries) => entries.into_iter().map(|(name, rule)| (name, rule.0)).collect(),
                Written::List(names) => names.into_iter().map(|name| (name, RuleId::ExplicitCopy)).collect(),
            };
        // Checked once the rules are read, and reported at `transfer-functions` itself.
        if let Some((name, _)) = entries
            .iter()
            .find(|(name, _)| !name.replace("::", ".").split('.').all(is_identifier))
        {
            return Err(de::Error::custom(format!(
                "`{name}` is not a dotted function name (`utils.to_numpy`) or a Rust path (`Gate::to_vec2`)"
            )));
        }
        Ok(entries
            .into_iter()
            .map(|(name, rule)| TransferFunction::new(name, rule))
            .collect())
    }

    /// A list when every entry is a copy (D2H001), as most configurations
    /// write it; a table of name = rule code otherwise.
    pub fn serialize<S: Serializer>(entries: &[TransferFunction], serializer: S) -> Result<S::Ok, S::Error> {
        if entries.iter().all(|t| t.rule == RuleId::ExplicitCopy) {
            serializer.collect_seq(entries.iter().map(|t| &t.name))
        } else {
            serializer.collect_map(entries.iter().map(|t| (&t.name, t.rule)))
        }
    }
}

/// `["a", "b"]`, each entry checked by `T::try_from`; every entry must be a
/// string before any is checked.
struct List<T>(Vec<T>);

impl<'de, T: TryFrom<String, Error: fmt::Display>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        strings(toml::Value::deserialize(deserializer)?)?
            .into_iter()
            .map(|text| T::try_from(text).map_err(de::Error::custom))
            .collect::<Result<_, _>>()
            .map(List)
    }
}

fn strings<E: de::Error>(value: toml::Value) -> Result<Vec<String>, E> {
    let what = "an array of strings";
    let toml::Value::Array(items) = value else {
        return Err(expected(what, &value));
    };
    items
        .into_iter()
        .map(|item| match item {
            toml::Value::String(text) => Ok(text),
            other => Err(expected(what, &other)),
        })
        .collect()
}

/// A confidence name, in any case.
pub(super) fn confidence<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Confidence>, D::Error> {
    let value = toml::Value::deserialize(deserializer)?;
    match value.as_str().map(str::parse) {
        Some(Ok(confidence)) => Ok(Some(confidence)),
        _ => Err(expected("\"certain\", \"likely\" or \"possible\"", &value)),
    }
}

/// A severity name, in any case.
struct Level(Severity);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        match value.as_str().map(str::parse) {
            Some(Ok(severity)) => Ok(Level(severity)),
            _ => Err(expected("\"critical\", \"medium\" or \"low\"", &value)),
        }
    }
}

/// A rule a transfer function's calls fall under: any rule but the
/// suppression ones (D2H9xx), by code or name.
struct TransferRule(RuleId);

impl<'de> Deserialize<'de> for TransferRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let Some(text) = value.as_str() else {
            return Err(expected("a rule code or name (\"D2H001\")", &value));
        };
        match RuleId::lookup(text) {
            Ok(id) if !id.is_meta() => Ok(TransferRule(id)),
            _ => {
                let mut transfer_rules = RuleId::all().filter(|id| !id.is_meta());
                let first = transfer_rules.next().map_or("", RuleId::code);
                let last = transfer_rules.last().map_or(first, RuleId::code);
                Err(de::Error::custom(format!(
                    "`{text}` is not a transfer rule ({first} to {last}, by code or name)"
                )))
            }
        }
    }
}

/// A table as read: its entries in key order, or (where a list is allowed
/// instead) the list's strings.
enum Written<K, V> {
    Table(Vec<(K, V)>),
    List(Vec<String>),
}

fn table<'de, D, K, V>(deserializer: D, what: &'static str) -> Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: TryFrom<String, Error: fmt::Display>,
    V: Deserialize<'de>,
{
    match deserializer.deserialize_any(TableVisitor::new(what, false))? {
        Written::Table(entries) => Ok(entries),
        Written::List(_) => unreachable!("a list is only read where one is allowed"),
    }
}

/// Reads a table entry by entry, so that toml marks an error in a key or a
/// value with that key's place; anything else is "expected `what`".
struct TableVisitor<K, V> {
    what: &'static str,
    list_allowed: bool,
    entries: PhantomData<(K, V)>,
}

impl<K, V> TableVisitor<K, V> {
    fn new(what: &'static str, list_allowed: bool) -> Self {
        TableVisitor {
            what,
            list_allowed,
            entries: PhantomData,
        }
    }

    fn found<E: de::Error>(&self, value: toml::Value) -> E {
        expected(self.what, &value)
    }

    fn found_text<E: de::Error>(&self, found: &str) -> E {
        de::Error::custom(format!("expected {}, found {found}", self.what))
    }
}

impl<'de, K, V> Visitor<'de> for TableVisitor<K, V>
where
    K: TryFrom<String, Error: fmt::Display>,
    V: Deserialize<'de>,
{
    type Value = Written<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed::<K>(PhantomData))? {
            let TableKey::Entry(key) = key else {
                return Err(self.found_text("datetime"));
            };
            entries.push((key, map.next_value()?));
        }
        Ok(Written::Table(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !self.list_allowed {
            return Err(self.found_text("array"));
        }
        let mut items: Vec<toml::Value> = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        strings(toml::Value::Array(items)).map(Written::List)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Err(self.found(toml::Value::String(v.to_string())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Err(self.found(toml::Value::Integer(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Err(self.found_text(&format!("integer {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(self.found(toml::Value::Float(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(self.found(toml::Value::Boolean(v)))
    }
}

/// A table key, checked by `K::try_from` while toml still knows where it is.
enum TableKey<K> {
    Entry(K),
    /// toml hands a datetime to a visitor as a one-entry table.
    Datetime,
}

struct KeySeed<K>(PhantomData<K>);

/// The key toml_datetime gives a datetime it hands over as a table
/// (`toml_datetime::datetime::FIELD`, not exported; a unit test pins it).
const DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de, K: TryFrom<String, Error: fmt::Display>> DeserializeSeed<'de> for KeySeed<K> {
    type Value = TableKey<K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == DATETIME_KEY {
            return Ok(TableKey::Datetime);
        }
        K::try_from(text).map(TableKey::Entry).map_err(de::Error::custom)
    }
}

/// "expected `what`, found `value`" (a string quoted, a number or boolean
/// with its type, an array, table or datetime by its type).
fn expected<E: de::Error>(what: &str, found: &toml::Value) -> E {
    let found = match found {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(i) => format!("integer {i}"),
        toml::Value::Float(f) => format!("float {f}"),
        toml::Value::Boolean(b) => format!("boolean {b}"),
        other => other.type_str().to_string(),
    };
    de::Error::custom(format!("expected {what}, found {found}"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigKind};

    fn error(text: &str) -> String {
        Config::parse(text, ConfigKind::D2hToml, Path::new("d2h.toml"))
            .unwrap_err()
            .to_string()
    }

    /// toml hands a datetime over as a table under `DATETIME_KEY`: where a
    /// table belongs, it is named as what it is.
    #[test]
    fn a_datetime_where_a_table_belongs_is_found_as_one() {
        assert_eq!(
            error("severity = 1979-05-27\n"),
            "d2h.toml: `severity`: expected a table of rule = severity, found datetime"
        );
        assert_eq!(
            error("transfer-functions = 1979-05-27T07:32:00Z\n"),
            "d2h.toml: `transfer-functions`: expected an array of names or a table of name = rule, found datetime"
        );
    }

    #[test]
    fn every_entry_must_be_a_string_before_any_is_checked() {
        assert!(error("select = [\"X1\", 1]\n").ends_with("`select`: expected an array of strings, found integer 1"));
        assert!(
            error("transfer-functions = [\"a.\", 1.5]\n").ends_with("expected an array of strings, found float 1.5")
        );
    }

    #[test]
    fn transfer_rules_are_checked_before_names() {
        assert!(
            error("transfer-functions = { \"bad:\" = \"D2H001\", ok = \"D2H901\" }\n").contains(
                "`transfer-functions.ok`: `D2H901` is not a transfer rule (D2H001 to D2H007, by code or name)"
            )
        );
    }
}
