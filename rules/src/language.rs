//! The languages a finding can be in, as far as the catalog cares: which
//! idioms its fix hint speaks.

use std::fmt;
use std::path::Path;

/// The language of a finding's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Python,
    Rust,
}

impl Language {
    /// Every language, in the order rule pages list their hints.
    pub const ALL: &'static [Language] = &[Language::Python, Language::Rust];

    /// The language of the file at `path`: `.rs` is Rust; anything else is
    /// Python, the auditor's first language and the runtime probe's.
    pub fn of_path(path: &str) -> Language {
        match Path::new(path).extension() {
            Some(extension) if extension == "rs" => Language::Rust,
            _ => Language::Python,
        }
    }

    /// The language's name, capitalised (`Python`).
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_decides() {
        assert_eq!(Language::of_path("src/matcher/mod.rs"), Language::Rust);
        assert_eq!(Language::of_path("lib.rs"), Language::Rust);
        assert_eq!(Language::of_path("sam2/predictor.py"), Language::Python);
        assert_eq!(Language::of_path("notes.rs.py"), Language::Python);
        assert_eq!(Language::of_path("rs"), Language::Python);
        assert_eq!(Language::of_path(""), Language::Python);
    }
}
