//! Suppression comments: `# d2h: ignore[D2H002] reason`, `# d2h: ignore-file[...]`,
//! `# noqa: D2H002` and bare `# noqa`; in Rust, `// d2h: ignore[...] reason`.
//!
//! Parsing a comment's text ([`parse_comment`]) is language-neutral: a front
//! end hands over each comment with its line and whether it stands alone on
//! its line ([`Comment`]), and [`FileSuppressions::from_comments`] turns them
//! into the suppressions of a file. Python comments are extracted with the
//! ruff lexer's tokens ([`python_comments`]), so `#` inside strings is never
//! taken for a comment, and each comment knows the first line of its logical
//! line (a comment on its own line above a multi-line statement covers every
//! line of that statement). Rust comments come from a line scan
//! ([`rust_comments`]) that skips string and char literals and block comments.
//!
//! Which finding a line suppression covers: one on the finding's line (any of
//! its lines, for a site that spans several), or a comment standing alone
//! directly above the finding's first line or above the first line of the
//! statement holding it (a block of stacked comment lines counts as directly
//! above).

use std::collections::BTreeMap;

use d2h_rules::RuleId;

/// One comment of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// 1-based line of the comment.
    pub line: u32,
    /// 1-based column (in characters) where the comment starts.
    pub column: u32,
    /// The comment's text, with its `#` or `//`.
    pub text: String,
    /// Whether nothing but whitespace precedes it on its line.
    pub own_line: bool,
    /// The first and last line of the statement that follows an own-line
    /// comment, or of the statement it trails. `None` when unknown: an
    /// own-line comment then covers the next line only.
    pub statement: Option<(u32, u32)>,
}

/// Whether a suppression covers one line or the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Line,
    File,
}

/// Which syntax a suppression used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `d2h: ignore[...]` / `d2h: ignore-file[...]`.
    D2h,
    /// `noqa: D2H002` or a bare `noqa`.
    Noqa,
}

/// A code named in a suppression, as written, and the rule it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub text: String,
    pub rule: Option<RuleId>,
}

/// One suppression directive, parsed from a comment's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub scope: Scope,
    pub syntax: Syntax,
    /// The d2h codes named; empty means every rule (bare `# noqa`, `# d2h: ignore`).
    pub codes: Vec<Code>,
    /// The free text after the codes, trimmed; `None` when there is none.
    pub reason: Option<String>,
    /// Byte offset of the directive (its `d2h:` or `noqa`) in the comment text.
    pub offset: usize,
}

impl Directive {
    /// Whether the directive covers `rule`.
    pub fn covers(&self, rule: RuleId) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|c| c.rule == Some(rule))
    }
}

/// Parses the suppression directives in one comment's text (with its `#` or
/// `//`). A comment may hold several: `# type: ignore  # noqa: D2H001`.
///
/// A `noqa` naming only other tools' codes (`# noqa: E501`) is not a d2h
/// suppression and yields nothing.
pub fn parse_comment(text: &str) -> Vec<Directive> {
    let starts = directive_starts(text);
    let mut directives = Vec::new();
    for (i, &(offset, kind)) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .map_or(text.len(), |next| comment_start_before(text, next.0, offset));
        let body = &text[offset..end];
        let directive = match kind {
            Syntax::D2h => parse_d2h(body, offset),
            Syntax::Noqa => parse_noqa(body, offset),
        };
        directives.extend(directive);
    }
    directives
}

/// Where directives start: `d2h:` or `noqa` right after a comment marker
/// (`#`, `//`) and optional spaces.
fn directive_starts(text: &str) -> Vec<(usize, Syntax)> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let marker_len = if bytes[i] == b'#' {
            1
        } else if bytes[i..].starts_with(b"//") {
            2
        } else {
            i += 1;
            continue;
        };
        let mut j = i + marker_len;
        while j < bytes.len() && (bytes[j] == b'/' || bytes[j] == b'!' || bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        let rest = &text[j..];
        // Compare bytes: the text after a marker may start with any character.
        let head = rest.as_bytes().get(..4);
        if head.is_some_and(|h| h.eq_ignore_ascii_case(b"d2h:")) {
            starts.push((j, Syntax::D2h));
        } else if head.is_some_and(|h| h.eq_ignore_ascii_case(b"noqa")) {
            let after = rest[4..].chars().next();
            if after.is_none_or(|c| c == ':' || c.is_whitespace()) {
                starts.push((j, Syntax::Noqa));
            }
        }
        i = j.max(i + 1);
    }
    starts
}

/// The offset of the comment marker that introduces the directive at `offset`,
/// never before `floor` (the start of the previous directive's body).
fn comment_start_before(text: &str, offset: usize, floor: usize) -> usize {
    let head = &text[..offset];
    let marker = head.rfind('#').max(head.rfind("//"));
    marker.unwrap_or(offset).clamp(floor, offset)
}

fn parse_d2h(body: &str, offset: usize) -> Option<Directive> {
    let rest = body[4..].trim_start();
    let (scope, rest) = if let Some(rest) = strip_word(rest, "ignore-file") {
        (Scope::File, rest)
    } else if let Some(rest) = strip_word(rest, "ignore") {
        (Scope::Line, rest)
    } else {
        return None;
    };
    let (codes, rest) = match rest.strip_prefix('[') {
        Some(inner) => {
            let close = inner.find(']')?;
            (parse_codes(&inner[..close]), &inner[close + 1..])
        }
        None => (Vec::new(), rest),
    };
    Some(Directive {
        scope,
        syntax: Syntax::D2h,
        codes,
        reason: reason_of(rest),
        offset,
    })
}

/// `word` at the start of `text`, followed by nothing, `[` or whitespace.
fn strip_word<'t>(text: &'t str, word: &str) -> Option<&'t str> {
    let rest = text.strip_prefix(word)?;
    rest.chars()
        .next()
        .is_none_or(|c| c == '[' || c.is_whitespace())
        .then_some(rest)
}

fn parse_noqa(body: &str, offset: usize) -> Option<Directive> {
    let rest = &body[4..];
    let Some(list) = rest.trim_start().strip_prefix(':') else {
        // Bare `# noqa`: every rule, no reason.
        return Some(Directive {
            scope: Scope::Line,
            syntax: Syntax::Noqa,
            codes: Vec::new(),
            reason: reason_of(rest),
            offset,
        });
    };
    // Codes are letters then digits, separated by commas or spaces; the first
    // other word starts the free text.
    let mut codes = Vec::new();
    let mut ours = Vec::new();
    let mut remaining = list.trim_start();
    loop {
        let token_end = remaining
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(remaining.len());
        let token = &remaining[..token_end];
        if token.is_empty() || !looks_like_code(token) {
            break;
        }
        codes.push(token);
        if token.len() >= 3 && token[..3].eq_ignore_ascii_case("D2H") {
            ours.push(token);
        }
        remaining = remaining[token_end..].trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    if codes.is_empty() {
        // `# noqa:` with nothing after it is a bare noqa, as in ruff.
        return Some(Directive {
            scope: Scope::Line,
            syntax: Syntax::Noqa,
            codes: Vec::new(),
            reason: reason_of(remaining),
            offset,
        });
    }
    if ours.is_empty() {
        return None;
    }
    Some(Directive {
        scope: Scope::Line,
        syntax: Syntax::Noqa,
        codes: ours.into_iter().map(code).collect(),
        reason: reason_of(remaining),
        offset,
    })
}

/// `E501`, `D2H002`, `RUF100`: a letter first, a digit last, letters and digits between.
fn looks_like_code(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_alphabetic())
        && token.ends_with(|c: char| c.is_ascii_digit())
        && token.chars().all(|c| c.is_ascii_alphanumeric())
}

fn parse_codes(list: &str) -> Vec<Code> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(code)
        .collect()
}

fn code(text: &str) -> Code {
    Code {
        text: text.to_string(),
        rule: RuleId::lookup(text).ok(),
    }
}

/// The free text after the codes: leading separators (`--`, `-`, `:`, `—`)
/// dropped, and ending where another comment starts on the same line (a `#`
/// or `//` after whitespace: `// d2h: ignore[D2H001] why // d2h-site: x`).
fn reason_of(rest: &str) -> Option<String> {
    let end = [" #", "\t#", " //", "\t//"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .unwrap_or(rest.len());
    let reason = rest[..end]
        .trim()
        .trim_start_matches(['-', ':', '—', '–'])
        .trim()
        .trim_end_matches(['*', '/'])
        .trim();
    (!reason.is_empty()).then(|| reason.to_string())
}

/// A directive placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub directive: Directive,
    /// The comment's line and the directive's 1-based column.
    pub line: u32,
    pub column: u32,
    /// The comment's text, trimmed (the code of a finding about it).
    pub comment: String,
    /// The line ranges (first, last) it covers (line scope only): a finding is
    /// covered when its lines overlap one of them.
    pub covers: Vec<(u32, u32)>,
}

/// The suppressions of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSuppressions {
    pub directives: Vec<Placed>,
}

impl FileSuppressions {
    /// The suppressions in a file's comments, in source order.
    pub fn from_comments(comments: &[Comment]) -> FileSuppressions {
        let own_lines: BTreeMap<u32, bool> = comments.iter().map(|c| (c.line, c.own_line)).collect();
        let mut directives = Vec::new();
        for comment in comments {
            for directive in parse_comment(&comment.text) {
                // The column of the comment marker that opens the directive.
                let marker = comment_start_before(&comment.text, directive.offset, 0);
                let column = comment.column + comment.text[..marker].chars().count() as u32;
                let covers = match directive.scope {
                    Scope::File => Vec::new(),
                    Scope::Line if comment.own_line => {
                        // The first line below the stacked comment block, and the statement it starts.
                        let mut next = comment.line + 1;
                        while own_lines.get(&next) == Some(&true) {
                            next += 1;
                        }
                        let mut lines = vec![(next, next)];
                        if let Some(statement) = comment.statement {
                            if statement != (next, next) {
                                lines.push(statement);
                            }
                        }
                        lines
                    }
                    Scope::Line => vec![(comment.line, comment.line)],
                };
                directives.push(Placed {
                    directive,
                    line: comment.line,
                    column,
                    comment: comment.text.trim().to_string(),
                    covers,
                });
            }
        }
        FileSuppressions { directives }
    }

    pub fn is_empty(&self) -> bool {
        self.directives.is_empty()
    }
}

/// Whether a text may hold a suppression at all (a cheap test before lexing).
pub fn may_hold_suppressions(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find(bytes, b"d2h:").is_some()
        || memchr::memmem::find(bytes, b"D2H:").is_some()
        || memchr::memmem::find(bytes, b"noqa").is_some()
        || memchr::memmem::find(bytes, b"NOQA").is_some()
        || memchr::memmem::find(bytes, b"NoQA").is_some()
}

/// The comments of a file, by its language (its extension): Python through
/// the ruff lexer, Rust through a line scan. Other files have none.
pub fn comments(path: &str, text: &str) -> Vec<Comment> {
    if !may_hold_suppressions(text) {
        return Vec::new();
    }
    if path.ends_with(".py") || path.ends_with(".pyi") {
        python_comments(text)
    } else if path.ends_with(".rs") {
        rust_comments(text)
    } else {
        Vec::new()
    }
}

/// Python comments from the ruff parser's tokens. A file that does not parse
/// has no comments (it is reported as an error anyway).
pub fn python_comments(text: &str) -> Vec<Comment> {
    use ruff_python_ast::token::TokenKind;
    use ruff_text_size::Ranged;

    let Ok(parsed) = ruff_python_parser::parse_module(text) else {
        return Vec::new();
    };
    let index = crate::source::LineIndex::new(text);
    let tokens = parsed.tokens();
    let mut comments = Vec::new();
    // The first line of the current logical line, once a non-trivia token starts it.
    let mut logical_start: Option<u32> = None;
    // Own-line comments waiting for the statement they precede.
    let mut waiting: Vec<usize> = Vec::new();
    // Comments of the current logical line (trailing ones, and own-line ones
    // before it), whose statement ends at the next `Newline`.
    let mut in_statement: Vec<usize> = Vec::new();
    for token in tokens.iter() {
        let kind = token.kind();
        let start = token.range().start().to_usize();
        match kind {
            TokenKind::Comment => {
                let (line, column) = index.position(text, start);
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let own_line = text[line_start..start].trim().is_empty();
                let end = token.range().end().to_usize();
                comments.push(Comment {
                    line,
                    column,
                    text: text[start..end].to_string(),
                    own_line,
                    // An own-line comment inside a bracketed statement covers the next line only.
                    statement: if own_line {
                        None
                    } else {
                        logical_start.map(|first| (first, first))
                    },
                });
                if !own_line {
                    in_statement.push(comments.len() - 1);
                } else if logical_start.is_none() {
                    waiting.push(comments.len() - 1);
                }
            }
            TokenKind::Newline => {
                let (last, _) = index.position(text, start);
                for i in in_statement.drain(..) {
                    if let Some((first, _)) = comments[i].statement {
                        comments[i].statement = Some((first, last));
                    }
                }
                logical_start = None;
            }
            TokenKind::NonLogicalNewline | TokenKind::Indent | TokenKind::Dedent | TokenKind::EndOfFile => {}
            _ => {
                if logical_start.is_none() {
                    let (line, _) = index.position(text, start);
                    logical_start = Some(line);
                    for i in waiting.drain(..) {
                        comments[i].statement = Some((line, line));
                        in_statement.push(i);
                    }
                }
            }
        }
    }
    comments
}

/// Rust `//` comments from a line scan that skips string, raw-string and char
/// literals and block comments. Statement boundaries are not known: an
/// own-line comment covers the next line.
pub fn rust_comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    let mut line_start = 0usize;
    let mut block_depth = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
            i += 1;
            continue;
        }
        if block_depth > 0 {
            if bytes[i..].starts_with(b"*/") {
                block_depth -= 1;
                i += 2;
            } else if bytes[i..].starts_with(b"/*") {
                block_depth += 1;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                let own_line = text[line_start..i].trim().is_empty();
                comments.push(Comment {
                    line,
                    column: text[line_start..i].chars().count() as u32 + 1,
                    text: text[i..end].trim_end_matches('\r').to_string(),
                    own_line,
                    statement: None,
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                block_depth = 1;
                i += 2;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"') | Some(b'#'))
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|c| **c == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let mut closing = vec![b'"'];
                closing.extend(std::iter::repeat_n(b'#', hashes));
                let body_end = memchr::memmem::find(&bytes[open + 1..], &closing).map_or(bytes.len(), |n| open + 1 + n);
                for &c in &bytes[i..body_end.min(bytes.len())] {
                    if c == b'\n' {
                        line += 1;
                    }
                }
                if let Some(nl) = bytes[..body_end.min(bytes.len())].iter().rposition(|c| *c == b'\n') {
                    if nl >= i {
                        line_start = nl + 1;
                    }
                }
                i = (body_end + closing.len()).min(bytes.len());
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    } else if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                let rest = &bytes[i + 1..];
                let len = if rest.first() == Some(&b'\\') {
                    rest.iter().skip(1).position(|c| *c == b'\'').map(|p| p + 2)
                } else {
                    let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (rest.get(ch_len) == Some(&b'\'')).then_some(ch_len)
                };
                i += 1 + len.map_or(0, |l| l + 1);
            }
            _ => i += 1,
        }
    }
    comments
}

#[cfg(test)]
mod tests {
    #[test]
    fn multibyte_text_after_a_marker_does_not_panic() {
        // Seen in ultralytics: `# ── ONNX helpers ──`, `# RGB→BGR`.
        for text in [
            "# ── ONNX helpers ────",
            "# RGB→BGR for cv2",
            "#é",
            "# d2h: ignore[D2H001] é→",
            "// ── x",
            "# noqaé",
        ] {
            parse_comment(text);
        }
        let mut text = String::from("# ");
        for c in ['─', 'é', '→', '𝔸', 'a', ':'] {
            for _ in 0..4 {
                text.push(c);
                parse_comment(&text);
                parse_comment(&format!("{text} # d2h: ignore[D2H002] why"));
            }
        }
    }

    #[test]
    fn directives_quoted_in_a_doc_comment_do_not_panic() {
        let text = "/// `# d2h: ignore[D2H002]` (or `// d2h: ignore[...]` in Rust) on a line";
        let directives = parse_comment(text);
        assert_eq!(directives.len(), 2);
        assert!(directives.iter().all(|d| d.offset < text.len()));
        for text in [
            "# d2h: ignore[D2H001] a # d2h: ignore[D2H002] b",
            "// noqa // d2h: ignore",
            "#//#//d2h:",
        ] {
            parse_comment(text);
        }
    }

    use super::*;

    fn one(text: &str) -> Directive {
        let mut all = parse_comment(text);
        assert_eq!(all.len(), 1, "{text}: {all:?}");
        all.remove(0)
    }

    #[test]
    fn d2h_ignore_with_codes_and_reason() {
        let d = one("# d2h: ignore[D2H002] logged once per epoch");
        assert_eq!(d.scope, Scope::Line);
        assert_eq!(d.syntax, Syntax::D2h);
        assert_eq!(d.codes.len(), 1);
        assert_eq!(d.codes[0].rule, Some(RuleId::ScalarRead));
        assert_eq!(d.reason.as_deref(), Some("logged once per epoch"));
        assert!(d.covers(RuleId::ScalarRead) && !d.covers(RuleId::ExplicitCopy));
    }

    #[test]
    fn separators_names_and_several_codes() {
        let d = one("#d2h: ignore[D2H001, scalar-read] -- for the UI");
        assert_eq!(
            d.codes.iter().map(|c| c.rule).collect::<Vec<_>>(),
            vec![Some(RuleId::ExplicitCopy), Some(RuleId::ScalarRead)]
        );
        assert_eq!(d.reason.as_deref(), Some("for the UI"));
        let d = one("# d2h: ignore[D2H001]");
        assert_eq!(d.reason, None);
        let d = one("# d2h: ignore[D2H999] x");
        assert_eq!(d.codes[0].rule, None);
        assert_eq!(d.codes[0].text, "D2H999");
    }

    #[test]
    fn file_scope_and_bare_ignore() {
        let d = one("# d2h: ignore-file[D2H001,D2H005] a debugging script");
        assert_eq!(d.scope, Scope::File);
        assert_eq!(d.codes.len(), 2);
        let d = one("# d2h: ignore");
        assert!(d.codes.is_empty() && d.covers(RuleId::HostFormat));
        assert!(parse_comment("# d2h: ignored by nothing").is_empty());
        assert!(parse_comment("# d2h: something else").is_empty());
    }

    #[test]
    fn noqa_forms() {
        let d = one("# noqa: D2H002");
        assert_eq!((d.syntax, d.codes.len(), d.reason.clone()), (Syntax::Noqa, 1, None));
        let d = one("# noqa: E501, D2H001 the copy is the output");
        assert_eq!(d.codes.len(), 1);
        assert_eq!(d.reason.as_deref(), Some("the copy is the output"));
        let d = one("# NOQA");
        assert!(d.codes.is_empty());
        // Other tools' codes only: not ours.
        assert!(parse_comment("# noqa: E501").is_empty());
        assert!(parse_comment("# noqanything").is_empty());
    }

    #[test]
    fn several_directives_in_one_comment() {
        let all = parse_comment("# type: ignore  # noqa: D2H005  # d2h: ignore[D2H001] why");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].syntax, Syntax::Noqa);
        assert_eq!(all[0].reason, None);
        assert_eq!(all[1].reason.as_deref(), Some("why"));
    }

    #[test]
    fn a_reason_ends_where_another_comment_starts() {
        let d = one("// d2h: ignore[D2H001] legacy mode, on purpose // d2h-site: legacy-cost");
        assert_eq!(d.reason.as_deref(), Some("legacy mode, on purpose"));
        let d = one("# d2h: ignore[D2H001] shown to the user  # pragma: no cover");
        assert_eq!(d.reason.as_deref(), Some("shown to the user"));
        let d = one("# d2h: ignore[D2H001] see https://example.invalid/a#b");
        assert_eq!(d.reason.as_deref(), Some("see https://example.invalid/a#b"));
        let d = one("// d2h: ignore[D2H001] // only another comment");
        assert_eq!(d.reason, None);
    }

    #[test]
    fn rust_comment_syntax() {
        let d = one("// d2h: ignore[D2H004] timing the bench");
        assert_eq!(d.reason.as_deref(), Some("timing the bench"));
        let d = one("/// d2h: ignore-file[D2H001]");
        assert_eq!(d.scope, Scope::File);
    }

    #[test]
    fn python_comments_skip_strings_and_know_their_statement() {
        let src =
            "x = '# d2h: ignore[D2H001] not a comment'\n# d2h: ignore[D2H001] above\ny = f(\n    a,  # trailing\n)\n";
        let comments = python_comments(src);
        assert_eq!(comments.len(), 2, "{comments:?}");
        assert_eq!(comments[0].line, 2);
        assert!(comments[0].own_line);
        assert_eq!(comments[0].statement, Some((3, 5)));
        assert_eq!(comments[1].line, 4);
        assert!(!comments[1].own_line);
        assert_eq!(comments[1].statement, Some((3, 5)));
    }

    #[test]
    fn own_line_comments_cover_the_next_line_and_the_statement() {
        let src = "def f(x):\n    # d2h: ignore[D2H001] why\n    # more words\n    return g(\n        x.cpu())\n";
        let s = FileSuppressions::from_comments(&python_comments(src));
        assert_eq!(s.directives.len(), 1);
        assert_eq!(s.directives[0].covers, vec![(4, 4), (4, 5)]);
        assert_eq!(s.directives[0].line, 2);
        assert_eq!(s.directives[0].column, 5);
    }

    #[test]
    fn rust_comments_skip_literals() {
        let src = "let s = \"// d2h: ignore[D2H001]\";\nlet r = r#\"// no\"#;\n// d2h: ignore[D2H004] why\nx.sync(); // trailing\nlet c = '\"'; // after a char\n/* // in a block */\n";
        let comments = rust_comments(src);
        let lines: Vec<(u32, bool)> = comments.iter().map(|c| (c.line, c.own_line)).collect();
        assert_eq!(lines, vec![(3, true), (4, false), (5, false)], "{comments:?}");
        assert_eq!(comments[1].column, 11);
    }

    #[test]
    fn cheap_prefilter() {
        assert!(may_hold_suppressions("x = 1  # noqa"));
        assert!(!may_hold_suppressions("x = 1  # plain"));
        assert!(comments("a.py", "x = 1\n").is_empty());
    }
}
