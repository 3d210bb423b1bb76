//! The [`Rule`] type and the `declare_rule!` macro that turns a rule file's doc
//! comment into both rustdoc and the page printed by `d2h rule <ID>`.

use crate::Language;

/// One entry of the catalog: everything about a rule except its code, which the
/// catalog list in the crate root assigns.
#[derive(Debug)]
pub struct Rule {
    /// Kebab-case name, stable and unique (`explicit-copy`).
    pub name: &'static str,
    /// One line: what the site does.
    pub summary: &'static str,
    /// How to keep the data on the device, in each language's idioms.
    pub fix: Fix,
    /// The rule's page in Markdown, as written in its doc comment (each line
    /// still carries the single leading space rustdoc keeps).
    pub doc: &'static str,
}

/// A rule's fix hint, one line per language: a Python finding is told about
/// `torch.where`, a Rust one about candle's `where_cond`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fix {
    pub python: &'static str,
    pub rust: &'static str,
}

impl Fix {
    /// The hint in `language`'s idioms.
    pub fn for_language(&self, language: Language) -> &'static str {
        match language {
            Language::Python => self.python,
            Language::Rust => self.rust,
        }
    }

    /// Every language with its hint, in [`Language::ALL`] order (for pages
    /// that show them all).
    pub fn by_language(&self) -> impl Iterator<Item = (Language, &'static str)> + '_ {
        Language::ALL
            .iter()
            .map(|&language| (language, self.for_language(language)))
    }
}

impl Rule {
    /// The fix hint for a finding in the file at `path` (its language comes
    /// from the extension; see [`Language::of_path`]). Every renderer that
    /// prints a finding's hint goes through here.
    pub fn fix_for(&self, path: &str) -> &'static str {
        self.fix.for_language(Language::of_path(path))
    }

    /// The rule's page in Markdown, without the leading space of each doc line.
    pub fn page(&self) -> String {
        let mut page = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            page.push_str(line.strip_prefix(' ').unwrap_or(line));
            page.push('\n');
        }
        page.trim_end().to_string() + "\n"
    }
}

/// Declares a rule:
/// `declare_rule! { /// docs... pub static NAME = { name, summary, fix: { python, rust } } }`.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $ident:ident = {
            name: $name:literal,
            summary: $summary:literal,
            fix: {
                python: $python:literal,
                rust: $rust:literal $(,)?
            } $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub static $ident: $crate::Rule = $crate::Rule {
            name: $name,
            summary: $summary,
            fix: $crate::Fix {
                python: $python,
                rust: $rust,
            },
            doc: concat!($($doc, "\n"),*),
        };
    };
}
