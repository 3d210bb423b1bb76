//! Fingerprints that survive edits which move a site.
//!
//! A fingerprint hashes the rule, the file, the enclosing symbol, the site's
//! code with whitespace removed, and the occurrence index of that same
//! (rule, file, symbol, code) tuple — never the line number. Moving a function,
//! re-indenting it or adding lines above it keeps every fingerprint; a second,
//! identical copy of a site gets a new one.

use std::collections::HashMap;

use d2h_rules::RuleId;

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `std`'s hasher.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn normalise(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The fingerprint of the `occurrence`-th (0-based) site with this rule, file,
/// symbol and code.
pub fn fingerprint(rule: RuleId, file: &str, symbol: &str, code: &str, occurrence: usize) -> String {
    let code = normalise(code);
    let occurrence = occurrence.to_string();
    format!("{:016x}", fnv1a(&[rule.code(), file, symbol, &code, &occurrence]))
}

/// Hands out fingerprints in source order, counting occurrences of identical sites.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    seen: HashMap<(RuleId, String, String, String), usize>,
}

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call in source order for the sites of a file.
    pub fn next(&mut self, rule: RuleId, file: &str, symbol: &str, code: &str) -> String {
        let key = (rule, file.to_string(), symbol.to_string(), normalise(code));
        let occurrence = self.seen.entry(key).or_insert(0);
        let fp = fingerprint(rule, file, symbol, code, *occurrence);
        *occurrence += 1;
        fp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_indentation_do_not_change_the_fingerprint() {
        let a = fingerprint(RuleId::ExplicitCopy, "a.py", "f", "x.cpu( )", 0);
        let b = fingerprint(RuleId::ExplicitCopy, "a.py", "f", "    x.cpu()", 0);
        assert_eq!(a, b);
    }

    #[test]
    fn each_component_changes_the_fingerprint() {
        let base = fingerprint(RuleId::ExplicitCopy, "a.py", "f", "x.cpu()", 0);
        assert_ne!(base, fingerprint(RuleId::ScalarRead, "a.py", "f", "x.cpu()", 0));
        assert_ne!(base, fingerprint(RuleId::ExplicitCopy, "b.py", "f", "x.cpu()", 0));
        assert_ne!(base, fingerprint(RuleId::ExplicitCopy, "a.py", "g", "x.cpu()", 0));
        assert_ne!(base, fingerprint(RuleId::ExplicitCopy, "a.py", "f", "y.cpu()", 0));
        assert_ne!(base, fingerprint(RuleId::ExplicitCopy, "a.py", "f", "x.cpu()", 1));
        assert_eq!(base.len(), 16);
    }

    #[test]
    fn repeated_identical_sites_get_distinct_fingerprints() {
        let mut fp = Fingerprinter::new();
        let first = fp.next(RuleId::ScalarRead, "a.py", "f", "t.item()");
        let second = fp.next(RuleId::ScalarRead, "a.py", "f", "t.item()");
        let other = fp.next(RuleId::ScalarRead, "a.py", "g", "t.item()");
        assert_ne!(first, second);
        assert_eq!(other, fingerprint(RuleId::ScalarRead, "a.py", "g", "t.item()", 0));
    }
}
