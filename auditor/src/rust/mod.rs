//! The Rust front end: parses a file with `syn` and extracts the same
//! [`FileFacts`] as the Python front end, for candle, cudarc, tch and burn code.
//!
//! Rust declares most types, so whether a value is a tensor is read from
//! parameter, field, `let` and return types first (`&Tensor`, `Tensor<B, 2>`,
//! `CudaSlice<f32>`), then inferred from constructors (`Tensor::zeros`,
//! `htod_copy`), tensor methods and `forward` calls. Values on the host (a
//! tensor created on or moved to `Device::Cpu`, a `Vec`, a number) are never
//! reported. What stays unknown carries its origin, for the project pass.
//!
//! Whether a call, a formatted value or a macro argument is a site is each
//! rule's decision ([`crate::rules`]): the front end hands them typed views
//! of its calls (`typed.rs`).
//!
//! Macros are token streams in syn: format macros (`println!`, `format!`,
//! `write!`, `log::*!`, `tracing::*!`, `panic!`, `assert!`...) are parsed as
//! comma-separated expressions, and their format strings for inline captures
//! (`{t}`, `{t:?}`). Other macros are parsed leniently when their tokens are
//! expressions (`vec![...]`), and skipped when not.

pub(crate) mod analyzer;
pub(crate) mod apis;
mod calls;
mod exprs;
mod guards;
mod items;
mod macros;
mod paths;
mod statements;
pub(crate) mod typed;
mod types;

pub(crate) use analyzer::Val;

use crate::facts::MAX_EXPR_DEPTH;
pub use crate::facts::{AnalysisError, ErrorKind};
use crate::model::FileFacts;
use crate::policy::{is_test_path, Policy};
use crate::source::LineIndex;

/// Bracket nesting deeper than this is refused before parsing.
const MAX_BRACKET_DEPTH: usize = 1000;

/// Runs of prefix operators (`- - - x`, `!!!!x`, `&&&&x`) longer than this are refused before parsing.
const MAX_PREFIX_RUN: usize = 1000;

/// Analyses one Rust file. `path` is relative to the audit root, `/`-separated.
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
    if let Some(offset) = nesting_exceeded(text) {
        let message = format!("brackets or prefix operators nested deeper than {MAX_BRACKET_DEPTH} levels");
        return Err(error_at(offset, ErrorKind::TooDeep, message));
    }
    // Spans live in a thread-local source map: start each file with an empty one.
    proc_macro2::extra::invalidate_current_thread_spans();
    let result = analyze_parsed(path, text, policy, &index);
    proc_macro2::extra::invalidate_current_thread_spans();
    result
}

fn analyze_parsed(path: &str, text: &str, policy: &Policy, index: &LineIndex) -> Result<FileFacts, AnalysisError> {
    // syn drops a shebang line and shifts its spans: blank it instead, offsets stay.
    let blanked;
    let source = match shebang_len(text) {
        Some(len) => {
            blanked = format!("{}{}", " ".repeat(len), &text[len..]);
            blanked.as_str()
        }
        None => text,
    };
    let file = syn::parse_file(source).map_err(|err| {
        let start = err.span().start();
        AnalysisError {
            line: u32::try_from(start.line).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(start.column + 1).unwrap_or(u32::MAX),
            kind: ErrorKind::Syntax,
            message: err.to_string(),
        }
    })?;
    let (module, crate_root) = module_path(path);
    let test_kind = test_kind(path);
    let output = analyzer::Analyzer::run(
        analyzer::FileInfo {
            text,
            index,
            module: &module,
            crate_root: &crate_root,
            test_kind,
        },
        &file,
        policy,
    );
    if let Some(offset) = output.too_deep_at {
        // Dropping a very deep tree recurses as deep: let it go instead (hostile input only).
        std::mem::forget(file);
        let message = format!("expression nested deeper than {} levels", MAX_EXPR_DEPTH);
        let (line, column) = index.position(text, offset);
        return Err(AnalysisError {
            line,
            column,
            kind: ErrorKind::TooDeep,
            message,
        });
    }
    let mut facts = output;
    facts.functions.shrink_to_fit();
    facts.sites.shrink_to_fit();
    facts.calls.shrink_to_fit();
    Ok(FileFacts {
        path: path.to_string(),
        module,
        is_test: test_kind.is_some(),
        functions: facts.functions,
        classes: facts.classes,
        sites: facts.sites,
        calls: facts.calls,
    })
}

/// The length of a `#!` line that is not an inner attribute (`#![...]`).
fn shebang_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("#!")?;
    if rest.trim_start().starts_with('[') {
        return None;
    }
    Some(text.find('\n').unwrap_or(text.len()))
}

/// Where bracket nesting, generic (`<`) nesting within a statement or a run
/// of prefix operators first exceeds the limits (a cheap guard on raw bytes,
/// strings and comments included, not a parser).
fn nesting_exceeded(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut angles = 0usize;
    let mut run = 0usize;
    for (offset, byte) in text.bytes().enumerate() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Some(offset);
                }
                run = 0;
                if byte == b'{' {
                    angles = 0;
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                run = 0;
                if byte == b'}' {
                    angles = 0;
                }
            }
            b'<' => {
                angles += 1;
                if angles > MAX_BRACKET_DEPTH {
                    return Some(offset);
                }
                run = 0;
            }
            b'>' => {
                angles = angles.saturating_sub(1);
                run = 0;
            }
            b';' => {
                angles = 0;
                run = 0;
            }
            b'-' | b'!' | b'*' | b'&' => {
                run += 1;
                if run > MAX_PREFIX_RUN {
                    return Some(offset);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => run = 0,
        }
    }
    None
}

/// What kind of test or benchmark code a whole file is, from its path.
fn test_kind(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.split('/').collect();
    let (file, dirs) = parts.split_last()?;
    if dirs.contains(&"benches") {
        return Some("in benchmark code");
    }
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    if is_test_path(path) || stem == "tests" || stem.ends_with("_tests") || stem.ends_with("_test") {
        return Some("in test code");
    }
    None
}

/// The dotted module path of a Rust file and of its crate root.
///
/// The components before `src/` name the crate (`pipeline/src/matcher/lsa.rs`
/// → `pipeline.matcher.lsa`, crate root `pipeline`); `mod.rs`, `lib.rs` and
/// `main.rs` stand for their directory. A crate audited from its own
/// directory (`src/lib.rs`) is rooted at `crate`. Files outside `src/`
/// (`tests/`, `benches/`, `examples/`) are crate roots of their own.
pub fn module_path(path: &str) -> (String, String) {
    let stem = path.strip_suffix(".rs").unwrap_or(path);
    let parts: Vec<&str> = stem.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let (prefix, inner): (Vec<&str>, Vec<&str>) = match parts.iter().rposition(|p| *p == "src") {
        Some(at) => (parts[..at].to_vec(), parts[at + 1..].to_vec()),
        None => {
            let module = join_module(&parts, &[]);
            return (module.clone(), module);
        }
    };
    let mut prefix = prefix;
    if prefix.is_empty() {
        prefix.push("crate");
    }
    let crate_root = prefix.join(".");
    (join_module(&prefix, &inner), crate_root)
}

fn join_module(prefix: &[&str], inner: &[&str]) -> String {
    let mut all: Vec<&str> = prefix.iter().chain(inner.iter()).copied().collect();
    if matches!(all.last(), Some(&("mod" | "lib" | "main"))) && all.len() > 1 {
        all.pop();
    }
    if all.is_empty() {
        return "crate".to_string();
    }
    all.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze_big_stack(path: &'static str, text: String) -> Result<FileFacts, AnalysisError> {
        std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn(move || analyze(path, &text, &Policy::default()))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn module_paths() {
        let m = |p: &str| module_path(p);
        assert_eq!(
            m("pipeline/src/matcher/lsa.rs"),
            ("pipeline.matcher.lsa".into(), "pipeline".into())
        );
        assert_eq!(
            m("pipeline/src/matcher/mod.rs"),
            ("pipeline.matcher".into(), "pipeline".into())
        );
        assert_eq!(m("pipeline/src/lib.rs"), ("pipeline".into(), "pipeline".into()));
        assert_eq!(m("src/lib.rs"), ("crate".into(), "crate".into()));
        assert_eq!(m("src/a/b.rs"), ("crate.a.b".into(), "crate".into()));
        assert_eq!(m("tests/frame.rs"), ("tests.frame".into(), "tests.frame".into()));
        assert_eq!(m("model.rs"), ("model".into(), "model".into()));
    }

    #[test]
    fn test_and_bench_paths() {
        assert_eq!(test_kind("pipeline/tests/x.rs"), Some("in test code"));
        assert_eq!(test_kind("pipeline/benches/x.rs"), Some("in benchmark code"));
        assert_eq!(test_kind("src/foo/tests.rs"), Some("in test code"));
        assert_eq!(test_kind("examples/run.rs"), None);
        assert_eq!(test_kind("src/latest.rs"), None);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = analyze("bad.rs", "fn f( {\n}\n", &Policy::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.line, 1);
        assert!(!err.message.is_empty());
        let err = analyze("bad2.rs", "fn f() {\n    let x = ;\n}\n", &Policy::default()).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::Syntax, 2));
        assert!(err.to_string().starts_with("syntax error at 2:"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let brackets = format!("fn f() {{ let x = {}1{}; }}\n", "(".repeat(5000), ")".repeat(5000));
        let err = analyze_big_stack("deep.rs", brackets).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::TooDeep, 1));
        let unary = format!(
            "fn f(t: &Tensor) {{\n    let x = {}t.to_vec1();\n}}\n",
            "-".repeat(5000)
        );
        let err = analyze_big_stack("unary.rs", unary).unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::TooDeep, 2));
        let chain = format!("fn f(t: &Tensor) {{\n    let x = t{};\n}}\n", ".abs()".repeat(3000));
        let err = analyze_big_stack("chain.rs", chain).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooDeep);
        let generics = format!("type T = {}u8{};\n", "Vec<".repeat(5000), ">".repeat(5000));
        let err = analyze_big_stack("generics.rs", generics).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooDeep);
        let fine = format!("fn f() {{ let x = {}1{}; }}\n", "(".repeat(150), ")".repeat(150));
        assert!(analyze_big_stack("fine.rs", fine).is_ok());
    }

    #[test]
    fn a_shebang_keeps_positions() {
        let text = "#!/usr/bin/env run-cargo-script\nfn f(t: &Tensor) {\n    let v = t.to_vec1::<f32>();\n}\n";
        let facts = analyze("s.rs", text, &Policy::default()).unwrap();
        assert_eq!(facts.sites.len(), 1);
        assert_eq!((facts.sites[0].span.line, facts.sites[0].span.column), (3, 13));
        assert_eq!(facts.sites[0].code, "t.to_vec1::<f32>()");
    }
}
