//! Guards and frame loops: which conditions are debug or logging switches
//! (`if self.debug`, `if log_enabled!(Debug)`, `if let Some(log) = &self.logger`),
//! and which loops run a model in their body (a frame loop makes the code in
//! it hot).

use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::analyzer::{loc_from_spans, Analyzer};
use super::exprs::{first_span, last_name};
use crate::facts::MAX_EXPR_DEPTH;

impl Analyzer<'_> {
    /// If `cond` is a debug/logging condition: its text, and whether it is negated.
    pub fn guard_of(&self, cond: &syn::Expr) -> Option<(String, bool)> {
        self.guard_of_depth(cond, 0)
    }

    fn guard_of_depth(&self, cond: &syn::Expr, depth: usize) -> Option<(String, bool)> {
        if depth > 16 {
            return None;
        }
        let text = || self.code(loc_from_spans(first_span(cond), cond.span()));
        match cond {
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => self
                .guard_of_depth(&u.expr, depth + 1)
                .map(|(t, negated)| (t, !negated)),
            syn::Expr::Paren(p) => self.guard_of_depth(&p.expr, depth + 1),
            syn::Expr::Group(g) => self.guard_of_depth(&g.expr, depth + 1),
            syn::Expr::Binary(b) => match b.op {
                syn::BinOp::And(_) => [&*b.left, &*b.right]
                    .into_iter()
                    .find_map(|e| self.guard_of_depth(e, depth + 1).filter(|(_, negated)| !negated))
                    .map(|(t, _)| (t, false)),
                syn::BinOp::Eq(_)
                | syn::BinOp::Ne(_)
                | syn::BinOp::Lt(_)
                | syn::BinOp::Le(_)
                | syn::BinOp::Gt(_)
                | syn::BinOp::Ge(_) => {
                    let mentions = [&*b.left, &*b.right]
                        .into_iter()
                        .any(|e| last_name(e).is_some_and(|n| self.is_guard_name(&n)));
                    mentions.then(|| (text(), false))
                }
                _ => None,
            },
            syn::Expr::Path(_) | syn::Expr::Field(_) => {
                let name = last_name(cond)?;
                self.is_guard_name(&name).then(|| (text(), false))
            }
            syn::Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if self.policy.is_guard_call(&method) || self.is_guard_name(&method) {
                    return Some((text(), false));
                }
                // `self.debug.unwrap_or(false)`, `self.cfg.verbose.get()`.
                let passthrough = matches!(
                    method.as_str(),
                    "unwrap_or" | "unwrap_or_default" | "unwrap" | "is_some" | "get" | "load" | "clone" | "copied"
                );
                if passthrough {
                    return self
                        .guard_of_depth(&m.receiver, depth + 1)
                        .filter(|(_, negated)| !negated)
                        .map(|_| (text(), false));
                }
                None
            }
            syn::Expr::Call(c) => {
                let name = last_name(&c.func)?;
                (self.policy.is_guard_call(&name) || self.is_guard_name(&name)).then(|| (text(), false))
            }
            syn::Expr::Macro(m) => {
                let name = m.mac.path.segments.last()?.ident.to_string();
                let is_guard = self.policy.rust.is_guard_macro(&name)
                    || (name == "cfg" && m.mac.tokens.to_string().contains("debug_assertions"));
                is_guard.then(|| (text(), false))
            }
            syn::Expr::Let(l) => self
                .guard_of_depth(&l.expr, depth + 1)
                .filter(|(_, negated)| !negated)
                .map(|_| (text(), false)),
            _ => None,
        }
    }

    pub fn is_guard_name(&self, name: &str) -> bool {
        self.policy.is_guard_name(name) || self.policy.rust.is_log_name(name)
    }

    /// The model-like call in a loop body that makes it a frame loop, if any.
    pub(super) fn model_call_in(&self, body: &syn::Block, cond: Option<&syn::Expr>) -> Option<String> {
        let mut finder = ModelCallFinder {
            analyzer: self,
            found: None,
            depth: 0,
        };
        if let Some(cond) = cond {
            finder.visit_expr(cond);
        }
        finder.visit_block(body);
        finder.found
    }
}

struct ModelCallFinder<'x, 'a> {
    analyzer: &'x Analyzer<'a>,
    found: Option<String>,
    depth: usize,
}

impl<'ast> Visit<'ast> for ModelCallFinder<'_, '_> {
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        if self.found.is_some() || self.depth >= MAX_EXPR_DEPTH {
            return;
        }
        let a = self.analyzer;
        match expr {
            syn::Expr::MethodCall(m) => {
                let method = m.method.to_string();
                let runs = !m.args.is_empty()
                    && (a.policy.is_model_name(&method) || a.policy.rust.is_model_run_method(&method));
                if a.policy.hot_by_name(&method).is_some() || runs {
                    let receiver = a.code(loc_from_spans(first_span(&m.receiver), m.receiver.span()));
                    self.found = Some(format!("{receiver}.{method}"));
                    return;
                }
            }
            syn::Expr::Call(c) => {
                if let syn::Expr::Path(p) = &*c.func {
                    let resolved = a.resolve_path(&p.path);
                    let last = resolved.last().to_string();
                    let is_model = (!resolved.is_library()
                        && (a.policy.hot_by_name(&last).is_some() || a.policy.is_model_name(&last)))
                        || last == "forward";
                    if is_model {
                        self.found = Some(a.code(loc_from_spans(first_span(&c.func), c.func.span())));
                        return;
                    }
                }
            }
            _ => {}
        }
        self.depth += 1;
        visit::visit_expr(self, expr);
        self.depth -= 1;
    }
}
