//! Macros. syn leaves a macro's arguments as tokens: format macros
//! (`println!`, `format!`, `write!`, `log::*!`, `tracing::*!`, `panic!`,
//! `assert!`, `dbg!`) are parsed as comma-separated expressions (with
//! `name = value`, `target: ..` and tracing's `?x` / `%x` forms), and their
//! format strings for inline captures (`{t}`, `{t:?}`). A tensor formatted
//! with `{}` or `{:?}` is copied to the host (candle's `Display` and `Debug`
//! read the data). Other macros are parsed as expressions when they are
//! (`vec![...]`, `matches!(...)`), and skipped when not.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;

use super::analyzer::{loc_from_spans, Analyzer, Loc, Val};
use super::apis::{self, contains};
use super::exprs::first_span;
use crate::rules;

/// One argument of a macro call.
struct MacroArg {
    /// `name = value` or `name: value`.
    key: Option<String>,
    expr: syn::Expr,
}

/// A `{...}` of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ArgRef {
    Next,
    Index(usize),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Placeholder {
    arg: ArgRef,
    debug: bool,
}

impl Analyzer<'_> {
    /// A macro call; its value (a `String` for `format!`, the argument for `dbg!`).
    pub fn macro_call(&mut self, mac: &syn::Macro) -> Val {
        let Some(last) = mac.path.segments.last() else {
            return Val::unknown();
        };
        let name = last.ident.to_string();
        if contains(apis::FORMAT_MACROS, &name) {
            return self.format_macro(mac, &name);
        }
        match name.as_str() {
            "vec" => {
                let elements = parse_vec(&mac.tokens);
                let mut any_tensor = false;
                for element in &elements {
                    any_tensor |= self.expr(element).is_tensor();
                }
                if any_tensor {
                    Val::tensor()
                } else {
                    Val::host()
                }
            }
            "cfg" | "include_str" | "include_bytes" | "env" | "option_env" | "concat" | "stringify" | "line"
            | "column" | "file" | "module_path" | "macro_rules" | "thread_local" | "lazy_static" | "compile_error" => {
                Val::host()
            }
            _ if self.policy.rust.is_guard_macro(&name) => Val::host(),
            _ => {
                // Unknown macros whose arguments are expressions (`matches!`, `try_join!`).
                for arg in parse_args(&mac.tokens) {
                    self.expr(&arg.expr);
                }
                Val::unknown()
            }
        }
    }

    fn format_macro(&mut self, mac: &syn::Macro, name: &str) -> Val {
        let args = parse_args(&mac.tokens);
        let path_text = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::");
        let is_log = contains(apis::LOG_MACROS, name);
        // Leading arguments that are not part of the message.
        let leading = match name {
            "write" | "writeln" | "assert" | "debug_assert" | "ensure" => 1,
            "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => 2,
            "log" | "event" => usize::from(
                args.first()
                    .is_some_and(|a| a.key.is_none() && !matches!(a.expr, syn::Expr::Lit(_))),
            ),
            _ => 0,
        };
        let saved = (
            self.recorder.context.guard.clone(),
            self.recorder.context.error_path.clone(),
        );
        if name.starts_with("debug_assert") {
            self.recorder
                .context
                .guard
                .get_or_insert_with(|| format!("{path_text}!"));
        }
        let mut level_guarded = self.policy.rust.is_guarded_log_macro(name);
        for arg in args.iter().take(leading) {
            if matches!(name, "log" | "event") {
                let level = arg.expr.span().source_text().unwrap_or_default();
                level_guarded |= ["Debug", "DEBUG", "Trace", "TRACE"].iter().any(|l| level.contains(l));
            }
            self.expr(&arg.expr);
        }
        if level_guarded && is_log {
            self.recorder
                .context
                .guard
                .get_or_insert_with(|| format!("{path_text}!"));
        }
        if contains(apis::PANIC_MACROS, name) {
            self.recorder
                .context
                .error_path
                .get_or_insert_with(|| format!("in a `{name}!` message (error path)"));
        }
        let message: Vec<&MacroArg> = args.iter().skip(leading).collect();
        let how = format!("tensor formatted by `{path_text}!`");
        let val = if name == "dbg" {
            let mut last = Val::host();
            for arg in &message {
                last = self.expr(&arg.expr);
                let loc = loc_from_spans(first_span(&arg.expr), arg.expr.span());
                rules::host_format::rust_formatted(&mut self.recorder, loc, &last, false, false, &how);
            }
            last
        } else {
            self.format_args(&message, &how, is_log);
            Val::host()
        };
        self.recorder.context.guard = saved.0;
        self.recorder.context.error_path = saved.1;
        val
    }

    /// The message of a format macro: a format string, its arguments, and (for
    /// log macros) structured fields, each checked for tensors.
    fn format_args(&mut self, message: &[&MacroArg], how: &str, is_log: bool) {
        // The format string: the first plain string literal.
        let fmt_at = message
            .iter()
            .position(|a| a.key.is_none() && matches!(&a.expr, syn::Expr::Lit(l) if matches!(l.lit, syn::Lit::Str(_))));
        let (placeholders, literal) = match fmt_at.map(|i| &message[i].expr) {
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            })) => (parse_placeholders(&s.value()), Some(s.clone())),
            _ => (Vec::new(), None),
        };
        let mut next = 0usize;
        let mut debug_positions: Vec<usize> = Vec::new();
        let mut debug_names: Vec<String> = Vec::new();
        let mut captured: Vec<String> = Vec::new();
        let named: Vec<&str> = message.iter().filter_map(|a| a.key.as_deref()).collect();
        for p in &placeholders {
            match &p.arg {
                ArgRef::Next => {
                    if p.debug {
                        debug_positions.push(next);
                    }
                    next += 1;
                }
                ArgRef::Index(i) => {
                    if p.debug {
                        debug_positions.push(*i);
                    }
                }
                ArgRef::Name(n) => {
                    if p.debug {
                        debug_names.push(n.clone());
                    }
                    if !named.contains(&n.as_str()) && !captured.contains(n) {
                        captured.push(n.clone());
                    }
                }
            }
        }
        let mut position = 0usize;
        for (i, arg) in message.iter().enumerate() {
            if Some(i) == fmt_at {
                continue;
            }
            // Arguments before the format string are structured fields (tracing) or targets.
            let is_field = fmt_at.is_none_or(|f| i < f);
            if is_field
                && arg
                    .key
                    .as_deref()
                    .is_some_and(|k| matches!(k, "target" | "parent" | "name"))
            {
                self.expr(&arg.expr);
                continue;
            }
            let val = self.expr(&arg.expr);
            let debug = match &arg.key {
                Some(k) if !is_field => debug_names.contains(k),
                Some(_) => true,
                None if is_field => true,
                None => {
                    let used = debug_positions.contains(&position);
                    position += 1;
                    used
                }
            };
            if is_field && !is_log {
                continue;
            }
            let loc = loc_from_spans(first_span(&arg.expr), arg.expr.span());
            self.format_site(loc, &val, debug, how);
        }
        let Some(literal) = literal else { return };
        for name in captured {
            let Some(val) = self.lookup(&name) else { continue };
            let debug = debug_names.contains(&name);
            if let Some(loc) = self.capture_loc(&literal, &name) {
                self.format_site(loc, &val, debug, how);
            }
        }
    }

    /// A formatted value, handed to the rules with what its type's `Debug` prints.
    fn format_site(&mut self, loc: Loc, val: &Val, debug: bool, how: &str) {
        let debug_prints_tensors = val
            .of
            .as_ref()
            .and_then(|of| self.structs.get(of))
            .is_some_and(|s| s.debug_formats_tensors);
        rules::host_format::rust_formatted(&mut self.recorder, loc, val, debug, debug_prints_tensors, how);
    }

    /// Where `{name` is written inside a format string literal.
    fn capture_loc(&self, literal: &syn::LitStr, name: &str) -> Option<Loc> {
        let range = literal.span().byte_range();
        let raw = self.file.text.get(range.clone())?;
        let bytes = raw.as_bytes();
        let mut from = 0;
        while let Some(found) = raw[from..].find(name) {
            let at = from + found;
            let end = at + name.len();
            let opens = at >= 1 && bytes[at - 1] == b'{' && (at < 2 || bytes[at - 2] != b'{');
            let closes = matches!(bytes.get(end), Some(b'}' | b':'));
            if opens && closes {
                return Some(self.loc_of_bytes(range.start + at, range.start + end));
            }
            from = end;
        }
        None
    }
}

/// A macro's arguments as comma-separated expressions (leniently: an
/// argument that does not parse is skipped, the others are kept).
fn parse_args(tokens: &TokenStream) -> Vec<MacroArg> {
    let all = |input: ParseStream| -> syn::Result<Vec<MacroArg>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            out.push(parse_arg(input)?);
            if input.is_empty() {
                break;
            }
            input.parse::<syn::Token![,]>()?;
        }
        Ok(out)
    };
    if let Ok(args) = all.parse2(tokens.clone()) {
        return args;
    }
    // Fall back to splitting at top-level commas and parsing each piece.
    let mut args = Vec::new();
    let mut chunk = TokenStream::new();
    for tree in tokens.clone() {
        if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
            if let Ok(arg) = parse_arg.parse2(std::mem::take(&mut chunk)) {
                args.push(arg);
            }
        } else {
            chunk.extend(std::iter::once(tree));
        }
    }
    if !chunk.is_empty() {
        if let Ok(arg) = parse_arg.parse2(chunk) {
            args.push(arg);
        }
    }
    args
}

fn parse_arg(input: ParseStream) -> syn::Result<MacroArg> {
    let mut key = None;
    if input.peek(syn::Ident) && input.peek2(syn::Token![=]) && !input.peek2(syn::Token![==]) {
        let ident: syn::Ident = input.parse()?;
        input.parse::<syn::Token![=]>()?;
        key = Some(ident.to_string());
    } else if input.peek(syn::Ident) && input.peek2(syn::Token![:]) && !input.peek2(syn::Token![::]) {
        let ident: syn::Ident = input.parse()?;
        input.parse::<syn::Token![:]>()?;
        key = Some(ident.to_string());
    }
    // tracing's `?value` (Debug) and `%value` (Display).
    if input.peek(syn::Token![?]) {
        input.parse::<syn::Token![?]>()?;
    } else if input.peek(syn::Token![%]) {
        input.parse::<syn::Token![%]>()?;
    }
    let expr: syn::Expr = input.parse()?;
    Ok(MacroArg { key, expr })
}

/// `vec![a, b]` or `vec![x; n]`.
fn parse_vec(tokens: &TokenStream) -> Vec<syn::Expr> {
    let repeat = |input: ParseStream| -> syn::Result<Vec<syn::Expr>> {
        let value: syn::Expr = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        let count: syn::Expr = input.parse()?;
        Ok(vec![value, count])
    };
    if let Ok(exprs) = repeat.parse2(tokens.clone()) {
        return exprs;
    }
    parse_args(tokens).into_iter().map(|a| a.expr).collect()
}

/// The `{...}` of a format string, in order (`{{` and `}}` are escapes).
fn parse_placeholders(format: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
            }
            '{' => {
                let mut inner = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    inner.push(c);
                }
                let (arg, spec) = inner.split_once(':').unwrap_or((inner.as_str(), ""));
                let arg = arg.trim();
                if spec.contains(".*") {
                    // The precision comes first from the positional arguments.
                    out.push(Placeholder {
                        arg: ArgRef::Next,
                        debug: false,
                    });
                }
                let arg = if arg.is_empty() {
                    ArgRef::Next
                } else if let Ok(index) = arg.parse::<usize>() {
                    ArgRef::Index(index)
                } else {
                    ArgRef::Name(arg.to_string())
                };
                out.push(Placeholder {
                    arg,
                    debug: spec.contains('?'),
                });
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let p = parse_placeholders("{} {{x}} {t:?} {0:>8.3} {:?} {name}");
        assert_eq!(
            p,
            vec![
                Placeholder {
                    arg: ArgRef::Next,
                    debug: false
                },
                Placeholder {
                    arg: ArgRef::Name("t".into()),
                    debug: true
                },
                Placeholder {
                    arg: ArgRef::Index(0),
                    debug: false
                },
                Placeholder {
                    arg: ArgRef::Next,
                    debug: true
                },
                Placeholder {
                    arg: ArgRef::Name("name".into()),
                    debug: false
                },
            ]
        );
    }

    #[test]
    fn macro_arguments_parse_leniently() {
        let tokens: TokenStream = "target: \"x\", \"{} {}\", a.b(), f::<A, B>(c), n = ?t".parse().unwrap();
        let args = parse_args(&tokens);
        assert_eq!(args.len(), 5);
        assert_eq!(args[0].key.as_deref(), Some("target"));
        assert_eq!(args[4].key.as_deref(), Some("n"));
        let broken: TokenStream = "\"{}\", x, => , y".parse().unwrap();
        assert_eq!(parse_args(&broken).len(), 3);
        let repeat: TokenStream = "t; 3".parse().unwrap();
        assert_eq!(parse_vec(&repeat).len(), 2);
    }
}
