//! The Python front end: parses a file with ruff's parser and extracts
//! [`FileFacts`]: every candidate site with its local context, every call that
//! may reach a project function, and each function's hot/cold status.
//!
//! Whether a receiver holds a tensor is inferred per function, in statement
//! order: values from torch calls, model calls, tensor methods and annotated
//! parameters are tensors; numpy results, `.item()`, literals are host values.
//! What stays unknown carries its origin (a parameter, a call's result) so the
//! project pass can resolve it across functions and files.
//!
//! Whether a construct is a site is each rule's decision ([`crate::rules`]):
//! the front end hands the rules typed views of its calls (`typed.rs`),
//! conditions, indices and formatted values.

mod analyzer;
pub(crate) mod apis;
mod assignments;
mod calls;
mod definitions;
mod expressions;
mod imports;
mod library;
mod narrowing;
mod statements;
pub(crate) mod typed;

use crate::facts::MAX_EXPR_DEPTH;
pub use crate::facts::{AnalysisError, ErrorKind};
use crate::model::FileFacts;
use crate::policy::{is_test_path, Policy};
use crate::source::LineIndex;
pub(crate) use analyzer::name_of;

/// Nesting deeper than this is refused before parsing (CPython stops at 200 brackets).
const MAX_BRACKET_DEPTH: usize = 1000;

/// Analyses one Python file. `path` is relative to the audit root, `/`-separated.
pub fn analyze(path: &str, text: &str, policy: &Policy) -> Result<FileFacts, AnalysisError> {
    let index = LineIndex::new(text);
    let error_at = |offset: usize, kind, message: String| {
        let (line, column) = index.position(text, offset);
        AnalysisError {
            line,
            column,
            kind,
            message,
        }
    };
    if let Some(offset) = bracket_depth_exceeded(text, MAX_BRACKET_DEPTH) {
        let message = format!("brackets nested deeper than {MAX_BRACKET_DEPTH} levels");
        return Err(error_at(offset, ErrorKind::TooDeep, message));
    }
    let parsed = ruff_python_parser::parse_module(text).map_err(|err| {
        error_at(
            err.location.start().to_usize(),
            ErrorKind::Syntax,
            err.error.to_string(),
        )
    })?;
    let (module, is_package) = module_path(path);
    let is_test = is_test_path(path);
    let facts = analyzer::Analyzer::run(
        &module,
        is_package,
        is_test,
        text,
        &index,
        &parsed.syntax().body,
        policy,
    );
    if let Some(offset) = facts.too_deep_at {
        let message = format!("expression nested deeper than {} levels", MAX_EXPR_DEPTH);
        return Err(error_at(offset, ErrorKind::TooDeep, message));
    }
    // Facts live until the whole project is joined: keep no growth slack.
    let mut facts = facts;
    facts.functions.shrink_to_fit();
    facts.sites.shrink_to_fit();
    facts.calls.shrink_to_fit();
    Ok(FileFacts {
        path: path.to_string(),
        module,
        is_test,
        functions: facts.functions,
        classes: facts.classes,
        sites: facts.sites,
        calls: facts.calls,
    })
}

/// The offset where bracket nesting first exceeds `limit`, counting raw bytes
/// (brackets in strings count too: a cheap guard, not a parser).
fn bracket_depth_exceeded(text: &str, limit: usize) -> Option<usize> {
    // Running depth; closers in strings can only make it smaller, and never below
    // zero: else a string of closers early in a file would let deep nesting through.
    let limit = limit as i64;
    let mut depth: i64 = 0;
    for (offset, &byte) in text.as_bytes().iter().enumerate() {
        let opens = matches!(byte, b'(' | b'[' | b'{') as i64;
        let closes = matches!(byte, b')' | b']' | b'}') as i64;
        depth = (depth + opens - closes).max(0);
        if depth > limit {
            return Some(offset);
        }
    }
    None
}

/// `pkg/sub/mod.py` → (`pkg.sub.mod`, false); `pkg/__init__.py` → (`pkg`, true).
pub fn module_path(path: &str) -> (String, bool) {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let mut parts: Vec<&str> = stem.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let is_package = parts.last() == Some(&"__init__");
    if is_package {
        parts.pop();
    }
    (parts.join("."), is_package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let brackets = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
        let err = analyze("deep.py", &brackets, &Policy::default()).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::TooDeep, 1));
        let unary = format!("def f(x):\n    return {}x.cpu()\n", "-".repeat(5000));
        let err = analyze("unary.py", &unary, &Policy::default()).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::TooDeep, 2));
        let fine = format!("x = {}1{}\n", "(".repeat(150), ")".repeat(150));
        assert!(analyze("fine.py", &fine, &Policy::default()).is_ok());
        // Unbalanced closers in a string before the nesting do not buy extra depth.
        let evading = format!(
            "s = \"{}\"\nx = {}1{}\n",
            ")".repeat(100),
            "(".repeat(1050),
            ")".repeat(1050)
        );
        let err = analyze("evading.py", &evading, &Policy::default()).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::TooDeep, 2));
    }

    #[test]
    fn module_paths() {
        assert_eq!(module_path("a/b/c.py"), ("a.b.c".to_string(), false));
        assert_eq!(module_path("a/__init__.py"), ("a".to_string(), true));
        assert_eq!(module_path("top.py"), ("top".to_string(), false));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = analyze("bad.py", "def f(:\n    pass\n", &Policy::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.line, 1);
        assert!(err.column > 1);
        assert!(!err.message.is_empty());
    }
}
