//! The [`Rule`] type and the `declare_rule!` macro that turns a rule file's doc
//! comment into both rustdoc and the page printed by `d2h rule <ID>`.

/// One entry of the catalog: everything about a rule except its code, which the
/// [`registry`](crate::registry) assigns.
#[derive(Debug)]
pub struct Rule {
    /// Kebab-case name, stable and unique (`explicit-copy`).
    pub name: &'static str,
    /// One line: what the site does.
    pub summary: &'static str,
    /// One line: how to keep the data on the device.
    pub fix: &'static str,
    /// The rule's page in Markdown, as written in its doc comment (each line
    /// still carries the single leading space rustdoc keeps).
    pub doc: &'static str,
}

impl Rule {
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

/// Declares a rule: `declare_rule! { /// docs... pub static NAME = { name, summary, fix } }`.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $ident:ident = {
            name: $name:literal,
            summary: $summary:literal,
            fix: $fix:literal $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub static $ident: $crate::Rule = $crate::Rule {
            name: $name,
            summary: $summary,
            fix: $fix,
            doc: concat!($($doc, "\n"),*),
        };
    };
}
