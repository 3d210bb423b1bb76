//! Reading source files and mapping byte offsets to 1-based line/character columns.

use std::path::Path;

/// Why a file could not be read as source text.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read file: {}", crate::walk::describe_io(.0))]
    Io(#[from] std::io::Error),
    #[error("binary file (contains a NUL byte at offset {0}), skipped")]
    Binary(usize),
    #[error("not valid UTF-8 (invalid byte at offset {0}), skipped")]
    NotUtf8(usize),
}

/// Reads a file as UTF-8 text; a leading BOM is dropped. In a Python file a
/// lone `\r` ends a line, as it does for Python's tokenizer, so it is read as
/// `\n` (same length: every byte offset stays valid) and the line numbers of
/// findings, code frames and suppressions agree with Python's. Rust source is
/// left as is (rustc counts lines by `\n` alone).
pub fn read_source(path: &Path) -> Result<String, SourceError> {
    let bytes = std::fs::read(path)?;
    let text = decode(bytes)?;
    Ok(match crate::walk::language(path) {
        Some(crate::Language::Rust) => text,
        _ => lone_cr_to_lf(text),
    })
}

/// Replaces each `\r` not followed by `\n` with `\n`.
pub fn lone_cr_to_lf(text: String) -> String {
    let bytes = text.as_bytes();
    let lone: Vec<usize> = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .collect();
    if lone.is_empty() {
        return text;
    }
    let mut bytes = text.into_bytes();
    for i in lone {
        bytes[i] = b'\n';
    }
    // One ASCII byte replaced by another: still UTF-8.
    String::from_utf8(bytes).expect("replacing an ASCII byte keeps UTF-8 valid")
}

/// Decodes bytes as UTF-8 source text, rejecting binary files.
pub fn decode(bytes: Vec<u8>) -> Result<String, SourceError> {
    if let Some(pos) = memchr_nul(&bytes) {
        return Err(SourceError::Binary(pos));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8(e.utf8_error().valid_up_to()))?;
    if text.starts_with('\u{feff}') {
        text.replace_range(..'\u{feff}'.len_utf8(), "");
    }
    Ok(text)
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(0, bytes)
}

/// Byte offset → (line, column), both 1-based, columns counted in characters.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    /// Per line: all ASCII, so a column is a byte difference (counting characters
    /// for every site of one very long line was quadratic).
    ascii: Vec<bool>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let ends = line_starts.iter().skip(1).copied().chain([text.len()]);
        let ascii = line_starts
            .iter()
            .zip(ends)
            .map(|(&s, e)| text.as_bytes()[s..e].is_ascii())
            .collect();
        LineIndex { line_starts, ascii }
    }

    /// The 1-based line and character column of `offset` in `text`.
    pub fn position(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = if self.ascii[line] {
            offset - start
        } else {
            text.get(start..offset).map_or(offset - start, |s| s.chars().count())
        };
        (to_u32(line + 1), to_u32(column + 1))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The source of a site on one line: whitespace runs folded, long code shortened.
pub fn one_line(code: &str) -> String {
    const MAX_CHARS: usize = 160;
    let folded = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_CHARS {
        return folded;
    }
    let mut short: String = folded.chars().take(MAX_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "a = 1\né = t.cpu()\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        let cpu = text.find("t.cpu").unwrap();
        assert_eq!(index.position(text, cpu), (2, 5));
        assert_eq!(index.position(text, text.len()), (3, 1));
    }

    #[test]
    fn decode_rejects_nul_and_invalid_utf8_and_strips_bom() {
        assert!(matches!(decode(b"x = 1\0".to_vec()), Err(SourceError::Binary(5))));
        assert!(matches!(decode(vec![b'x', 0xff]), Err(SourceError::NotUtf8(1))));
        assert_eq!(decode("\u{feff}x = 1".as_bytes().to_vec()).unwrap(), "x = 1");
    }

    #[test]
    fn lone_carriage_returns_end_lines_and_keep_offsets() {
        let text = "a = 1\rb = 2\r\nc = 3\r".to_string();
        let fixed = lone_cr_to_lf(text.clone());
        assert_eq!(fixed, "a = 1\nb = 2\r\nc = 3\n");
        assert_eq!(fixed.len(), text.len());
        assert_eq!(lone_cr_to_lf("x\r\ny\n".to_string()), "x\r\ny\n");
    }

    #[test]
    fn one_line_folds_whitespace() {
        assert_eq!(one_line("x.cpu(\n    )"), "x.cpu( )");
        assert_eq!(one_line(&"a".repeat(400)).chars().count(), 160);
    }
}
