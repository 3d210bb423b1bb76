//! Source text of the files that have findings, for code frames.

use std::collections::BTreeMap;
use std::sync::Arc;

/// File (report-relative path) → its text. Renderers that show code frames
/// look lines up here; a file that is missing simply gets no frame.
#[derive(Debug, Clone, Default)]
pub struct SourceCache {
    /// Each file's text and the byte offsets where its lines start (looking a
    /// line up by splitting the text for every finding was quadratic).
    files: BTreeMap<String, (Arc<str>, Vec<usize>)>,
}

impl SourceCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, file: impl Into<String>, text: Arc<str>) {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.insert(file.into(), (text, starts));
    }

    pub fn contains(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    /// Line `line` (1-based) of `file`, without its line ending.
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        let (text, starts) = self.files.get(file)?;
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).map_or(text.len(), |next| next - 1);
        let l = &text[start..end];
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_lines_without_endings_and_none_out_of_range() {
        let mut cache = SourceCache::new();
        cache.insert("a.py", Arc::from("one\r\ntwo\nthree"));
        assert_eq!(cache.line("a.py", 1), Some("one"));
        assert_eq!(cache.line("a.py", 3), Some("three"));
        assert_eq!(cache.line("a.py", 0), None);
        assert_eq!(cache.line("a.py", 4), None);
        assert_eq!(cache.line("b.py", 1), None);
    }
}
