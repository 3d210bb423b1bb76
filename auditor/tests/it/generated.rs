//! Structured generator tests: random nested Python and Rust programs (deep
//! nesting, odd Unicode in identifiers and strings, long lines) with transfer
//! sites planted at known places. The auditor must never panic; a program the
//! generator knows to be valid must be audited (or refused as too deep, only
//! when it is), and every planted site must be found with its rule, line,
//! column and code. Mutated programs (random edits, so mostly invalid) must give
//! a report with at most a per-file error, never a crash.
//!
//! Bounded for CI: 48 small cases per property from a fixed seed; `PROPTEST_CASES=N`
//! runs N cases from a random seed to explore.

use std::fmt::Write as _;
use std::path::Path;

use d2h_auditor::{audit, AuditOptions};
use d2h_reports::Report;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

// ------------------------------------------------------------------ plumbing

/// A site planted in generated source: where it starts (byte offset) and what must be reported.
#[derive(Debug, Clone)]
struct Planted {
    offset: usize,
    rule: &'static str,
    code: &'static str,
    /// `false` where the generator cannot tell the auditor's view (a nested `fn` in Rust).
    expected: bool,
}

/// Source text under construction, with the planted sites' offsets.
#[derive(Debug, Default)]
struct Out {
    text: String,
    planted: Vec<Planted>,
    /// Inside a nested function: plants there are not counted.
    nested: usize,
}

impl Out {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn plant(&mut self, rule: &'static str, code: &'static str) {
        self.planted.push(Planted {
            offset: self.text.len(),
            rule,
            code,
            expected: self.nested == 0,
        });
        self.text.push_str(code);
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.text.push_str("    ");
        }
    }
}

/// 1-based line and character column of `offset`, lines ended by `\n`.
fn position(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    (line as u32, column as u32)
}

/// Audits one file as the binary would (worker threads with a large stack).
fn audit_file(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::Builder::new().prefix("d2h-generated").tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let options = AuditOptions {
        threads: Some(1),
        ..AuditOptions::default()
    };
    audit(&[path], &options)
        .expect("an audit of one file always has a report")
        .report
}

/// Every expected plant is reported with its rule, position and code.
fn assert_plants_found(report: &Report, text: &str, planted: &[Planted]) -> Result<(), TestCaseError> {
    for plant in planted.iter().filter(|p| p.expected) {
        let (line, column) = position(text, plant.offset);
        let hit = report
            .findings
            .iter()
            .any(|f| f.rule.code() == plant.rule && f.line == line && f.column == column && f.code == plant.code);
        prop_assert!(
            hit,
            "planted {} `{}` at {}:{} not reported; findings: {:#?}",
            plant.rule,
            plant.code,
            line,
            column,
            report
                .findings
                .iter()
                .map(|f| format!("{}:{} {} {}", f.line, f.column, f.rule.code(), f.code))
                .collect::<Vec<_>>()
        );
    }
    Ok(())
}

/// A report on one file: audited, or one clear error entry for that file.
fn assert_one_file_report(report: &Report, name: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(report.summary.files_scanned, 1);
    prop_assert!(report.errors.len() <= 1, "{:#?}", report.errors);
    if let Some(error) = report.errors.first() {
        prop_assert_eq!(&error.file, name);
        prop_assert!(!error.message.is_empty());
        prop_assert!(report.findings.is_empty(), "findings for a file that failed");
    }
    Ok(())
}

/// CI runs a fixed set of cases (a gate that flakes gets deleted); `PROPTEST_CASES=N`
/// explores: N cases from a fresh random seed each run.
fn config(cases: u32) -> Config {
    let explore = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok());
    Config {
        cases: explore.unwrap_or(cases),
        rng_seed: if explore.is_some() {
            RngSeed::Random
        } else {
            RngSeed::Fixed(0xd2_0008)
        },
        // No regression files written into the source tree; a failure prints its seed and input.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

// ---------------------------------------------------------------- shared bits

/// Identifiers, some far from ASCII (all valid in Python 3 and Rust 2021).
const NAMES: &[&str] = &[
    "a", "b_1", "données", "变量", "αβγ", "ñandú", "Ωmega", "_tmp", "ʃ", "名前2",
];

/// Characters for string literals: quotes and backslashes are escaped when rendered.
const CHARS: &[char] = &[
    'a', 'Z', ' ', '0', 'é', '变', '😀', '\u{200d}', '\u{202e}', '\u{2028}', '\u{0301}', '\t', '"', '\\', '\'', '#',
    '{', '}', 'ß', 'ﬃ', '\u{feff}', '€',
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHARS), 0..12).prop_map(|c| c.into_iter().collect())
}

/// An escaped double-quoted literal body (valid in Python and Rust).
fn escaped(s: &str, braces: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '{' | '}' if braces => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

// ------------------------------------------------------------------- Python

/// Transfer calls on the tensor parameter `x`, with their rule.
const PY_PLANTS: &[(&str, &str)] = &[
    ("D2H001", "x.cpu()"),
    ("D2H001", "x.numpy()"),
    ("D2H001", "x.tolist()"),
    ("D2H001", "x.detach().cpu()"),
    ("D2H002", "x.item()"),
];

/// Functions called in generated code: none is a builtin or API d2h knows.
const PY_FUNCS: &[&str] = &["foo", "bar.baz", "helper", "mod.sub.fn_", "ƒ"];

#[derive(Debug, Clone)]
enum PyExpr {
    Name(String),
    Int(i64),
    Str(String),
    Plant(usize),
    Bin(Box<PyExpr>, &'static str, Box<PyExpr>),
    Unary(&'static str, Box<PyExpr>),
    Call(&'static str, Vec<PyExpr>, Vec<PyExpr>),
    Attr(String, String),
    Subscript(String, Box<PyExpr>),
    List(Vec<PyExpr>),
    Tuple(Vec<PyExpr>),
    Dict(Vec<(PyExpr, PyExpr)>),
    IfExp(Box<PyExpr>, Box<PyExpr>, Box<PyExpr>),
    Lambda(Box<PyExpr>),
    ListComp(Box<PyExpr>, Box<PyExpr>),
    FString(String, Box<PyExpr>),
    Paren(Box<PyExpr>),
}

fn py_leaf() -> impl Strategy<Value = PyExpr> {
    prop_oneof![
        name().prop_map(PyExpr::Name),
        any::<i64>().prop_map(PyExpr::Int),
        text().prop_map(PyExpr::Str),
        (0..PY_PLANTS.len()).prop_map(PyExpr::Plant),
        (name(), name()).prop_map(|(a, b)| PyExpr::Attr(a, b)),
    ]
}

fn py_expr() -> impl Strategy<Value = PyExpr> {
    py_leaf().prop_recursive(12, 96, 6, |inner| {
        let op = prop::sample::select(
            &[
                "+", "-", "*", "@", "**", "//", "<", "==", "is not", "in", "and", "or", "|",
            ][..],
        );
        let kwargs = prop::collection::vec(inner.clone(), 0..3);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| PyExpr::Bin(Box::new(a), op, Box::new(b))),
            (prop::sample::select(&["-", "+", "~", "not "][..]), inner.clone())
                .prop_map(|(op, e)| PyExpr::Unary(op, Box::new(e))),
            (
                prop::sample::select(PY_FUNCS),
                prop::collection::vec(inner.clone(), 0..4),
                kwargs
            )
                .prop_map(|(f, args, kw)| PyExpr::Call(f, args, kw)),
            (name(), inner.clone()).prop_map(|(n, i)| PyExpr::Subscript(n, Box::new(i))),
            prop::collection::vec(inner.clone(), 0..5).prop_map(PyExpr::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(PyExpr::Tuple),
            prop::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(PyExpr::Dict),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| PyExpr::IfExp(
                Box::new(a),
                Box::new(b),
                Box::new(c)
            )),
            inner.clone().prop_map(|e| PyExpr::Lambda(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| PyExpr::ListComp(Box::new(a), Box::new(b))),
            (text(), inner.clone()).prop_map(|(t, e)| PyExpr::FString(t, Box::new(e))),
            inner.prop_map(|e| PyExpr::Paren(Box::new(e))),
        ]
    })
}

fn render_py_expr(e: &PyExpr, out: &mut Out) {
    match e {
        PyExpr::Name(n) => out.push(n),
        PyExpr::Int(i) => out.push(&i.to_string()),
        PyExpr::Str(s) => out.push(&format!("\"{}\"", escaped(s, false))),
        PyExpr::Plant(i) => out.plant(PY_PLANTS[*i].0, PY_PLANTS[*i].1),
        PyExpr::Bin(a, op, b) => {
            // Parenthesised: `**` of a negative literal and `not` chains stay unambiguous.
            out.push("(");
            render_py_expr(a, out);
            out.push(&format!(" {op} "));
            render_py_expr(b, out);
            out.push(")");
        }
        PyExpr::Unary(op, e) => {
            out.push(&format!("({op}"));
            render_py_expr(e, out);
            out.push(")");
        }
        PyExpr::Call(f, args, kwargs) => {
            out.push(f);
            out.push("(");
            for a in args {
                render_py_expr(a, out);
                out.push(", ");
            }
            for (k, v) in kwargs.iter().enumerate() {
                out.push(&format!("k{k}="));
                render_py_expr(v, out);
                out.push(", ");
            }
            out.push(")");
        }
        PyExpr::Attr(a, b) => out.push(&format!("{a}.{b}")),
        PyExpr::Subscript(n, i) => {
            out.push(&format!("{n}["));
            render_py_expr(i, out);
            out.push("]");
        }
        PyExpr::List(items) | PyExpr::Tuple(items) => {
            let tuple = matches!(e, PyExpr::Tuple(_));
            out.push(if tuple { "(" } else { "[" });
            for a in items {
                render_py_expr(a, out);
                out.push(", ");
            }
            out.push(if tuple { ")" } else { "]" });
        }
        PyExpr::Dict(items) => {
            out.push("{");
            for (k, v) in items {
                render_py_expr(k, out);
                out.push(": ");
                render_py_expr(v, out);
                out.push(", ");
            }
            out.push("}");
        }
        PyExpr::IfExp(a, b, c) => {
            out.push("(");
            render_py_expr(a, out);
            out.push(" if ");
            render_py_expr(b, out);
            out.push(" else ");
            render_py_expr(c, out);
            out.push(")");
        }
        PyExpr::Lambda(e) => {
            out.push("(lambda: ");
            render_py_expr(e, out);
            out.push(")");
        }
        PyExpr::ListComp(a, b) => {
            out.push("[");
            render_py_expr(a, out);
            out.push(" for _i in ");
            render_py_expr(b, out);
            out.push("]");
        }
        PyExpr::FString(t, e) => {
            // `{ ` not `{`: a dict or set right after the brace would read as `{{`.
            out.push(&format!("f\"{}{{ ", escaped(t, true)));
            render_py_expr(e, out);
            out.push("}\"");
        }
        PyExpr::Paren(e) => {
            out.push("(");
            render_py_expr(e, out);
            out.push(")");
        }
    }
}

#[derive(Debug, Clone)]
enum PyStmt {
    Assign(String, PyExpr),
    Expr(PyExpr),
    If(PyExpr, Vec<PyStmt>, Vec<PyStmt>),
    For(String, PyExpr, Vec<PyStmt>),
    While(PyExpr, Vec<PyStmt>),
    With(PyExpr, Vec<PyStmt>),
    Try(Vec<PyStmt>, Vec<PyStmt>),
    Comment(String),
    Pass,
}

fn py_stmt() -> impl Strategy<Value = PyStmt> {
    let leaf = prop_oneof![
        4 => (name(), py_expr()).prop_map(|(n, e)| PyStmt::Assign(n, e)),
        2 => py_expr().prop_map(PyStmt::Expr),
        1 => text().prop_map(PyStmt::Comment),
        1 => Just(PyStmt::Pass),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        let body = prop::collection::vec(inner, 1..4);
        prop_oneof![
            (py_expr(), body.clone(), prop::collection::vec(py_stmt_leaf(), 0..2))
                .prop_map(|(c, a, b)| PyStmt::If(c, a, b)),
            (name(), py_expr(), body.clone()).prop_map(|(n, e, b)| PyStmt::For(n, e, b)),
            (py_expr(), body.clone()).prop_map(|(c, b)| PyStmt::While(c, b)),
            (py_expr(), body.clone()).prop_map(|(c, b)| PyStmt::With(c, b)),
            (body.clone(), body).prop_map(|(a, b)| PyStmt::Try(a, b)),
        ]
    })
}

fn py_stmt_leaf() -> impl Strategy<Value = PyStmt> {
    (name(), py_expr()).prop_map(|(n, e)| PyStmt::Assign(n, e))
}

fn render_py_block(body: &[PyStmt], level: usize, out: &mut Out) {
    if body.is_empty() {
        out.indent(level);
        out.push("pass\n");
    }
    for s in body {
        render_py_stmt(s, level, out);
    }
}

fn render_py_stmt(s: &PyStmt, level: usize, out: &mut Out) {
    out.indent(level);
    match s {
        PyStmt::Assign(n, e) => {
            out.push(&format!("{n} = "));
            render_py_expr(e, out);
            out.push("\n");
        }
        PyStmt::Expr(e) => {
            render_py_expr(e, out);
            out.push("\n");
        }
        PyStmt::If(c, a, b) => {
            out.push("if ");
            render_py_expr(c, out);
            out.push(":\n");
            render_py_block(a, level + 1, out);
            if !b.is_empty() {
                out.indent(level);
                out.push("else:\n");
                render_py_block(b, level + 1, out);
            }
        }
        PyStmt::For(n, e, b) => {
            out.push(&format!("for {n} in "));
            render_py_expr(e, out);
            out.push(":\n");
            render_py_block(b, level + 1, out);
        }
        PyStmt::While(c, b) => {
            out.push("while ");
            render_py_expr(c, out);
            out.push(":\n");
            render_py_block(b, level + 1, out);
        }
        PyStmt::With(c, b) => {
            out.push("with ");
            render_py_expr(c, out);
            out.push(" as _ctx:\n");
            render_py_block(b, level + 1, out);
        }
        PyStmt::Try(a, b) => {
            out.push("try:\n");
            render_py_block(a, level + 1, out);
            out.indent(level);
            out.push("except Exception:\n");
            render_py_block(b, level + 1, out);
        }
        PyStmt::Comment(t) => {
            // After `pass`: a block of only a comment is no block. Never a suppression
            // (no letters of `d2h` or `noqa` in the alphabet): those would hide planted sites.
            out.push(&format!("pass  # {}\n", t.replace(['\n', '\r', '\u{2028}'], " ")));
        }
        PyStmt::Pass => out.push("pass\n"),
    }
}

/// How a planted site at the end of `forward` is wrapped: `depth` levels of `kind`.
#[derive(Debug, Clone, Copy)]
enum Wrap {
    Parens,
    Lists,
    Calls,
}

fn render_py_module(body: &[PyStmt], wrap: (Wrap, usize), wide: usize) -> Out {
    let mut out = Out::default();
    out.push("import torch\n\n\ndef forward(x: torch.Tensor):\n");
    render_py_block(body, 1, &mut out);
    let tail = Tail {
        bind: "    ",
        end: "\n",
        wide_site: (97, "D2H002", "x.item()"),
        deep_site: ("D2H001", "x.cpu()"),
    };
    push_tail(&mut out, &tail, wrap, wide);
    out.push("    return x\n");
    out
}

/// The end shared by generated Python and Rust functions: a long line (many
/// planted sites in one call), then a site nested `depth` deep.
struct Tail {
    /// Starts a binding statement: `"    "` or `"    let "`.
    bind: &'static str,
    /// Ends a statement: `"\n"` or `";\n"`.
    end: &'static str,
    /// A site planted every this many arguments of the wide call: (every, rule, code).
    wide_site: (usize, &'static str, &'static str),
    /// The deep site: (rule, code).
    deep_site: (&'static str, &'static str),
}

fn push_tail(out: &mut Out, tail: &Tail, (kind, depth): (Wrap, usize), wide: usize) {
    if wide > 0 {
        out.push(&format!("{}wide = helper(", tail.bind));
        let (every, rule, code) = tail.wide_site;
        for i in 0..wide {
            if i % every == 0 {
                out.plant(rule, code);
            } else {
                out.push(&format!("\"é{i}\""));
            }
            out.push(", ");
        }
        out.push(")");
        out.push(tail.end);
    }
    let (open, close) = match kind {
        Wrap::Parens => ("(", ")"),
        Wrap::Lists => ("[", "]"),
        Wrap::Calls => ("foo(", ")"),
    };
    out.push(&format!("{}deep = ", tail.bind));
    out.push(&open.repeat(depth));
    out.plant(tail.deep_site.0, tail.deep_site.1);
    out.push(&close.repeat(depth));
    out.push(tail.end);
}

fn wrap() -> impl Strategy<Value = (Wrap, usize)> {
    let kind = prop_oneof![Just(Wrap::Parens), Just(Wrap::Lists), Just(Wrap::Calls)];
    let depth = prop_oneof![6 => 0usize..60, 1 => 60usize..1200, 1 => 1001usize..5000];
    (kind, depth)
}

/// Deeper than this, the auditor may refuse the file (its limits are 1,000
/// brackets and 500 levels of expression analysis); shallower, it must audit it.
const SAFE_DEPTH: usize = 200;
/// From this bracket depth on it must refuse it.
const REFUSED_DEPTH: usize = 1001;

fn check_python(body: &[PyStmt], wrap: (Wrap, usize), wide: usize) -> Result<(), TestCaseError> {
    let out = render_py_module(body, wrap, wide);
    let report = audit_file("gen.py", out.text.as_bytes());
    assert_one_file_report(&report, "gen.py")?;
    let depth = wrap.1;
    match report.errors.first() {
        None => {
            prop_assert!(depth < REFUSED_DEPTH, "{depth} levels accepted");
            assert_plants_found(&report, &out.text, &out.planted)?;
        }
        Some(error) => {
            prop_assert!(
                depth >= SAFE_DEPTH && error.message.contains("nested deeper than"),
                "generated program refused at depth {depth}: {}\n{}",
                error.message,
                out.text
            );
        }
    }
    Ok(())
}

// --------------------------------------------------------------------- Rust

const RS_PLANTS: &[(&str, &str)] = &[
    ("D2H001", "x.to_vec1::<f32>()"),
    ("D2H001", "x.to_vec2::<f32>()"),
    ("D2H001", "x.to_vec3::<u8>()"),
    ("D2H002", "x.to_scalar::<f32>()"),
    ("D2H002", "x.to_vec0::<f32>()"),
];

const RS_FUNCS: &[&str] = &["foo", "bar::baz", "helper", "crate::m::f", "ƒ"];

#[derive(Debug, Clone)]
enum RsExpr {
    Name(String),
    Int(u32),
    Str(String),
    RawStr(String),
    Plant(usize),
    Bin(Box<RsExpr>, &'static str, Box<RsExpr>),
    Unary(&'static str, Box<RsExpr>),
    Call(&'static str, Vec<RsExpr>),
    Method(String, &'static str, Vec<RsExpr>),
    Tuple(Vec<RsExpr>),
    Array(Vec<RsExpr>),
    Block(Vec<RsStmt>, Box<RsExpr>),
    If(Box<RsExpr>, Box<RsExpr>, Box<RsExpr>),
    Closure(Box<RsExpr>),
    Vec(Vec<RsExpr>),
    Format(String, Box<RsExpr>),
    Match(Box<RsExpr>, Box<RsExpr>),
}

#[derive(Debug, Clone)]
enum RsStmt {
    Let(String, RsExpr),
    Expr(RsExpr),
    For(String, RsExpr, Vec<RsStmt>),
    While(RsExpr, Vec<RsStmt>),
    Loop(Vec<RsStmt>),
    NestedFn(Vec<RsStmt>),
    Comment(String),
}

fn rs_leaf() -> impl Strategy<Value = RsExpr> {
    prop_oneof![
        name().prop_map(RsExpr::Name),
        any::<u32>().prop_map(RsExpr::Int),
        text().prop_map(RsExpr::Str),
        text().prop_map(|t| RsExpr::RawStr(t.replace('"', "'"))),
        (0..RS_PLANTS.len()).prop_map(RsExpr::Plant),
    ]
}

fn rs_expr() -> impl Strategy<Value = RsExpr> {
    rs_leaf().prop_recursive(10, 80, 5, |inner| {
        let op = prop::sample::select(&["+", "-", "*", "&&", "||", "==", "<", "&", "^", "<<"][..]);
        let let_stmt = (name(), inner.clone()).prop_map(|(n, e)| RsStmt::Let(n, e));
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| RsExpr::Bin(Box::new(a), op, Box::new(b))),
            (prop::sample::select(&["-", "!", "&", "*"][..]), inner.clone())
                .prop_map(|(op, e)| RsExpr::Unary(op, Box::new(e))),
            (
                prop::sample::select(RS_FUNCS),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(f, a)| RsExpr::Call(f, a)),
            (
                name(),
                prop::sample::select(&["map", "clone", "len", "push"][..]),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(n, m, a)| RsExpr::Method(n, m, a)),
            prop::collection::vec(inner.clone(), 0..4).prop_map(RsExpr::Tuple),
            prop::collection::vec(inner.clone(), 0..4).prop_map(RsExpr::Array),
            (prop::collection::vec(let_stmt, 0..3), inner.clone()).prop_map(|(s, e)| RsExpr::Block(s, Box::new(e))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| RsExpr::If(
                Box::new(a),
                Box::new(b),
                Box::new(c)
            )),
            inner.clone().prop_map(|e| RsExpr::Closure(Box::new(e))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(RsExpr::Vec),
            (text(), inner.clone()).prop_map(|(t, e)| RsExpr::Format(t, Box::new(e))),
            (inner.clone(), inner).prop_map(|(a, b)| RsExpr::Match(Box::new(a), Box::new(b))),
        ]
    })
}

fn render_rs_list(items: &[RsExpr], out: &mut Out) {
    for a in items {
        render_rs_expr(a, out);
        out.push(", ");
    }
}

fn render_rs_expr(e: &RsExpr, out: &mut Out) {
    match e {
        RsExpr::Name(n) => out.push(n),
        RsExpr::Int(i) => out.push(&i.to_string()),
        RsExpr::Str(s) => out.push(&format!("\"{}\"", escaped(s, false))),
        RsExpr::RawStr(s) => out.push(&format!("r#\"{s}\"#")),
        RsExpr::Plant(i) => out.plant(RS_PLANTS[*i].0, RS_PLANTS[*i].1),
        RsExpr::Bin(a, op, b) => {
            out.push("(");
            render_rs_expr(a, out);
            out.push(&format!(" {op} "));
            render_rs_expr(b, out);
            out.push(")");
        }
        RsExpr::Unary(op, e) => {
            out.push(&format!("({op}"));
            render_rs_expr(e, out);
            out.push(")");
        }
        RsExpr::Call(f, args) => {
            out.push(&format!("{f}("));
            render_rs_list(args, out);
            out.push(")");
        }
        RsExpr::Method(n, m, args) => {
            out.push(&format!("{n}.{m}("));
            render_rs_list(args, out);
            out.push(")");
        }
        RsExpr::Tuple(items) => {
            out.push("(");
            render_rs_list(items, out);
            out.push(")");
        }
        RsExpr::Array(items) => {
            out.push("[");
            render_rs_list(items, out);
            out.push("]");
        }
        RsExpr::Vec(items) => {
            out.push("vec![");
            render_rs_list(items, out);
            out.push("]");
        }
        RsExpr::Block(stmts, e) => {
            out.push("{ ");
            for s in stmts {
                render_rs_stmt(s, 0, out);
            }
            render_rs_expr(e, out);
            out.push(" }");
        }
        RsExpr::If(c, a, b) => {
            out.push("if ");
            // A struct-literal-free condition: parenthesised.
            out.push("(");
            render_rs_expr(c, out);
            out.push(") { ");
            render_rs_expr(a, out);
            out.push(" } else { ");
            render_rs_expr(b, out);
            out.push(" }");
        }
        RsExpr::Closure(e) => {
            out.push("(|_v| ");
            render_rs_expr(e, out);
            out.push(")");
        }
        RsExpr::Format(t, e) => {
            out.push(&format!("format!(\"{}{{:?}}\", ", escaped(t, true)));
            render_rs_expr(e, out);
            out.push(")");
        }
        RsExpr::Match(a, b) => {
            out.push("match (");
            render_rs_expr(a, out);
            out.push(") { _ => ");
            render_rs_expr(b, out);
            out.push(" }");
        }
    }
}

fn rs_stmt() -> impl Strategy<Value = RsStmt> {
    let leaf = prop_oneof![
        4 => (name(), rs_expr()).prop_map(|(n, e)| RsStmt::Let(n, e)),
        2 => rs_expr().prop_map(RsStmt::Expr),
        1 => text().prop_map(RsStmt::Comment),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4);
        prop_oneof![
            (name(), rs_expr(), body.clone()).prop_map(|(n, e, b)| RsStmt::For(n, e, b)),
            (rs_expr(), body.clone()).prop_map(|(c, b)| RsStmt::While(c, b)),
            body.clone().prop_map(RsStmt::Loop),
            body.prop_map(RsStmt::NestedFn),
        ]
    })
}

fn render_rs_block(body: &[RsStmt], level: usize, out: &mut Out) {
    for s in body {
        render_rs_stmt(s, level, out);
    }
}

fn render_rs_stmt(s: &RsStmt, level: usize, out: &mut Out) {
    out.indent(level);
    match s {
        RsStmt::Let(n, e) => {
            out.push(&format!("let {n} = "));
            render_rs_expr(e, out);
            out.push(";\n");
        }
        RsStmt::Expr(e) => {
            render_rs_expr(e, out);
            out.push(";\n");
        }
        RsStmt::For(n, e, b) => {
            out.push(&format!("for {n} in ("));
            render_rs_expr(e, out);
            out.push(") {\n");
            render_rs_block(b, level + 1, out);
            out.indent(level);
            out.push("}\n");
        }
        RsStmt::While(c, b) => {
            out.push("while (");
            render_rs_expr(c, out);
            out.push(") {\n");
            render_rs_block(b, level + 1, out);
            out.indent(level);
            out.push("}\n");
        }
        RsStmt::Loop(b) => {
            out.push("loop {\n");
            render_rs_block(b, level + 1, out);
            out.indent(level + 1);
            out.push("break;\n");
            out.indent(level);
            out.push("}\n");
        }
        RsStmt::NestedFn(b) => {
            // `x` is not in scope there: plants are not counted.
            out.push("fn nested() {\n");
            out.nested += 1;
            render_rs_block(b, level + 1, out);
            out.nested -= 1;
            out.indent(level);
            out.push("}\n");
        }
        RsStmt::Comment(t) => {
            let t = t.replace(['\n', '\r', '\u{2028}'], " ");
            let _ = writeln!(out.text, "// {t}");
        }
    }
}

fn render_rs_file(body: &[RsStmt], wrap: (Wrap, usize), wide: usize) -> Out {
    let mut out = Out::default();
    out.push("use candle_core::Tensor;\n\npub fn forward(x: &Tensor) -> candle_core::Result<()> {\n");
    render_rs_block(body, 1, &mut out);
    let tail = Tail {
        bind: "    let ",
        end: ";\n",
        wide_site: (89, "D2H001", "x.to_vec1::<f32>()"),
        deep_site: ("D2H001", "x.to_vec2::<f32>()"),
    };
    push_tail(&mut out, &tail, wrap, wide);
    out.push("    Ok(())\n}\n");
    out
}

fn check_rust(body: &[RsStmt], wrap: (Wrap, usize), wide: usize) -> Result<(), TestCaseError> {
    let out = render_rs_file(body, wrap, wide);
    let report = audit_file("gen.rs", out.text.as_bytes());
    assert_one_file_report(&report, "gen.rs")?;
    let depth = wrap.1;
    match report.errors.first() {
        None => {
            prop_assert!(depth < REFUSED_DEPTH, "{depth} levels accepted");
            assert_plants_found(&report, &out.text, &out.planted)?;
        }
        Some(error) => {
            prop_assert!(
                depth >= SAFE_DEPTH && error.message.contains("nested deeper than"),
                "generated program refused at depth {depth}: {}\n{}",
                error.message,
                out.text
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- mutations

#[derive(Debug, Clone)]
enum Edit {
    /// Insert a string at a (scaled) position.
    Insert(f64, String),
    /// Delete a range.
    Delete(f64, usize),
    /// Insert a raw byte (may break UTF-8).
    Byte(f64, u8),
    /// Repeat a slice many times (deep nesting, long lines).
    Repeat(f64, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let snippet = prop::sample::select(
        &[
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ":",
            "\n",
            "\r",
            "\r\n",
            "    ",
            "\t",
            "\"",
            "'",
            "\"\"\"",
            "#",
            "//",
            "/*",
            "*/",
            "# d2h: ignore",
            "# noqa",
            "// d2h: ignore-file[D2H001]",
            "# d2h: ignore[é]",
            "\\",
            "é",
            "😀",
            "\u{feff}",
            "lambda",
            "def ",
            "fn ",
            "async ",
            "await ",
            "yield ",
            "match ",
            "case ",
            "x.cpu()",
            ".item()",
            "to_vec1::<",
            "r#\"",
            "'a",
            "@",
            "::<",
            "=>",
            "\u{0}",
        ][..],
    );
    prop_oneof![
        4 => (0.0..1.0f64, snippet).prop_map(|(at, s)| Edit::Insert(at, s.to_string())),
        2 => (0.0..1.0f64, 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        1 => (0.0..1.0f64, any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        1 => (0.0..1.0f64, 1usize..8, 1usize..3000).prop_map(|(at, len, times)| Edit::Repeat(at, len, times)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
        match e {
            Edit::Insert(f, s) => {
                let i = at(*f, bytes.len());
                bytes.splice(i..i, s.bytes());
            }
            Edit::Delete(f, n) => {
                let i = at(*f, bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Byte(f, b) => {
                let i = at(*f, bytes.len());
                bytes.insert(i, *b);
            }
            Edit::Repeat(f, len, times) => {
                let i = at(*f, bytes.len());
                let end = (i + len).min(bytes.len());
                let piece = bytes[i..end].to_vec();
                let repeated: Vec<u8> = piece.iter().copied().cycle().take(piece.len() * times).collect();
                bytes.splice(i..i, repeated);
            }
        }
    }
    bytes
}

// -------------------------------------------------------------------- tests

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn python_programs_are_audited_and_planted_sites_found(
        body in prop::collection::vec(py_stmt(), 0..6),
        wrap in wrap(),
        wide in prop_oneof![3 => Just(0usize), 1 => 1usize..3000],
    ) {
        check_python(&body, wrap, wide)?;
    }

    #[test]
    fn rust_programs_are_audited_and_planted_sites_found(
        body in prop::collection::vec(rs_stmt(), 0..6),
        wrap in wrap(),
        wide in prop_oneof![3 => Just(0usize), 1 => 1usize..3000],
    ) {
        check_rust(&body, wrap, wide)?;
    }

    #[test]
    fn mutated_python_never_crashes_the_auditor(
        body in prop::collection::vec(py_stmt(), 0..4),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let out = render_py_module(&body, (Wrap::Parens, 0), 0);
        let bytes = apply(out.text.into_bytes(), &edits);
        let report = audit_file("mutated.py", &bytes);
        assert_one_file_report(&report, "mutated.py")?;
    }

    #[test]
    fn mutated_rust_never_crashes_the_auditor(
        body in prop::collection::vec(rs_stmt(), 0..4),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let out = render_rs_file(&body, (Wrap::Parens, 0), 0);
        let bytes = apply(out.text.into_bytes(), &edits);
        let report = audit_file("mutated.rs", &bytes);
        assert_one_file_report(&report, "mutated.rs")?;
    }
}

/// The generator's own position helper agrees with a hand-counted case.
#[test]
fn position_counts_characters() {
    let text = "a\né = x.cpu()\n";
    assert_eq!(position(text, text.find("x.cpu").unwrap()), (2, 5));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml").exists());
}
