//! The Python front end: parses a file with ruff's parser and extracts
//! [`FileFacts`]: every candidate site with its local context, every call that
//! may reach a project function, and each function's hot/cold status.
//!
//! Whether a receiver holds a tensor is inferred per function, in statement
//! order: values from torch calls, model calls, tensor methods and annotated
//! parameters are tensors; numpy results, `.item()`, literals are host values.
//! What stays unknown carries its origin (a parameter, a call's result) so the
//! project pass can resolve it across functions and files.

mod analyzer;
mod apis;
mod calls;
mod expressions;
mod imports;
mod statements;

use std::sync::Arc;

use crate::model::FileFacts;
use crate::policy::{is_test_path, Policy};
use crate::source::LineIndex;

/// A syntax error, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Analyses one Python file. `path` is relative to the audit root, `/`-separated.
pub fn analyze(path: &str, text: Arc<str>, policy: &Policy) -> Result<FileFacts, SyntaxError> {
    let parsed = ruff_python_parser::parse_module(&text).map_err(|err| {
        let index = LineIndex::new(&text);
        let (line, column) = index.position(&text, err.location.start().to_usize());
        SyntaxError {
            line,
            column,
            message: err.error.to_string(),
        }
    })?;
    let (module, is_package) = module_path(path);
    let is_test = is_test_path(path);
    let facts = analyzer::Analyzer::run(path, &module, is_package, is_test, &text, &parsed.syntax().body, policy);
    Ok(FileFacts {
        path: path.to_string(),
        module,
        is_test,
        functions: facts.functions,
        sites: facts.sites,
        calls: facts.calls,
        text,
    })
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
    fn module_paths() {
        assert_eq!(module_path("a/b/c.py"), ("a.b.c".to_string(), false));
        assert_eq!(module_path("a/__init__.py"), ("a".to_string(), true));
        assert_eq!(module_path("top.py"), ("top".to_string(), false));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = analyze("bad.py", Arc::from("def f(:\n    pass\n"), &Policy::default()).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.column > 1);
        assert!(!err.message.is_empty());
    }
}
