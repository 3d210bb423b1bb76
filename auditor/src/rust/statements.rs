//! Statements: blocks scope their `let`s (a `let` with a type annotation
//! gives its value that type); an early exit on a guard (`if !self.debug {
//! return; }`) guards the rest of the block; patterns bind the parts of a value.

use super::analyzer::{Analyzer, Val};
use super::exprs::pattern_variant;
use super::items::is_cfg_debug;
use crate::model::Ty;

/// Decides, per statement index of a block, a cold block for it (`fn main` before its loop).
pub type Phase<'p> = &'p dyn Fn(usize) -> Option<String>;

impl Analyzer<'_> {
    pub fn block(&mut self, block: &syn::Block) -> Val {
        self.stmts(&block.stmts, None)
    }

    pub fn stmts(&mut self, stmts: &[syn::Stmt], phase: Option<Phase<'_>>) -> Val {
        let mark = self.env.mark();
        let saved_guard = self.recorder.context.guard.clone();
        let saved_cold = self.recorder.context.cold_block.clone();
        let mut tail = Val::host();
        for (i, stmt) in stmts.iter().enumerate() {
            if let Some(phase) = phase {
                self.recorder.context.cold_block = phase(i).or_else(|| saved_cold.clone());
            }
            let (val, guard_rest) = self.stmt(stmt);
            if i + 1 == stmts.len() && matches!(stmt, syn::Stmt::Expr(_, None)) {
                tail = val;
            }
            if let Some(guard) = guard_rest {
                self.recorder.context.guard.get_or_insert(guard);
            }
        }
        self.recorder.context.cold_block = saved_cold;
        self.recorder.context.guard = saved_guard;
        self.env.restore(mark);
        tail
    }

    /// A statement's value, and the guard it puts on the rest of its block, if any.
    fn stmt(&mut self, stmt: &syn::Stmt) -> (Val, Option<String>) {
        match stmt {
            syn::Stmt::Local(local) => {
                let saved = self.recorder.context.guard.clone();
                if is_cfg_debug(&local.attrs) {
                    self.recorder.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let guard = self.local(local);
                self.recorder.context.guard = saved;
                (Val::host(), guard)
            }
            syn::Stmt::Item(item) => {
                self.item(item);
                (Val::host(), None)
            }
            syn::Stmt::Expr(expr, _) => {
                let saved = self.recorder.context.guard.clone();
                if is_cfg_debug(expr_attrs(expr)) {
                    self.recorder.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let val = self.expr(expr);
                self.recorder.context.guard = saved;
                (val, self.early_exit_guard(expr))
            }
            syn::Stmt::Macro(m) => {
                let saved = self.recorder.context.guard.clone();
                if is_cfg_debug(&m.attrs) {
                    self.recorder.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let val = self.macro_call(&m.mac);
                self.recorder.context.guard = saved;
                (val, None)
            }
        }
    }

    /// `let pat: ty = init else { ... };` Returns the guard a `let Some(log) = gate.logging() else { return }` puts on the rest.
    fn local(&mut self, local: &syn::Local) -> Option<String> {
        let annotation = match &local.pat {
            syn::Pat::Type(t) => Some(&*t.ty),
            _ => None,
        };
        let Some(init) = &local.init else {
            let val = annotation.map_or_else(Val::unknown, |t| self.type_val(t));
            self.bind_pattern(&local.pat, &val);
            return None;
        };
        let saved_scalar = self.expect_scalar;
        self.expect_scalar = annotation.is_some_and(Analyzer::is_scalar_type);
        let value = self.expr(&init.expr);
        self.expect_scalar = saved_scalar;
        let val = match annotation {
            Some(t) => merge(self.type_val(t), value),
            None => value,
        };
        let mut guard_rest = None;
        if let Some((_, diverge)) = &init.diverge {
            let saved = self.recorder.context.error_path.clone();
            if pattern_variant(&local.pat) == Some("Ok") {
                self.recorder
                    .context
                    .error_path
                    .get_or_insert_with(|| "in the `else` of a `let Ok(..)` (error path)".to_string());
            }
            if let Some((text, false)) = self.guard_of(&init.expr) {
                guard_rest = Some(text);
            }
            self.expr(diverge);
            self.recorder.context.error_path = saved;
        }
        self.bind_pattern(&local.pat, &val);
        guard_rest
    }

    /// `if !self.debug { return; }` guards the rest of the block.
    fn early_exit_guard(&self, expr: &syn::Expr) -> Option<String> {
        let syn::Expr::If(if_expr) = expr else { return None };
        if if_expr.else_branch.is_some() || if_expr.then_branch.stmts.len() != 1 {
            return None;
        }
        let exits = match &if_expr.then_branch.stmts[0] {
            syn::Stmt::Expr(e, _) => matches!(e, syn::Expr::Return(_) | syn::Expr::Continue(_) | syn::Expr::Break(_)),
            syn::Stmt::Macro(m) => m.mac.path.is_ident("panic") || m.mac.path.is_ident("unreachable"),
            _ => false,
        };
        match self.guard_of(&if_expr.cond) {
            Some((text, true)) if exits => Some(text),
            _ => None,
        }
    }

    /// Binds a pattern to a value (tuples unpack, `Some(x)`/`Ok(x)` bind the inner value).
    pub fn bind_pattern(&mut self, pat: &syn::Pat, val: &Val) {
        match pat {
            syn::Pat::Ident(i) => {
                if let Some((_, sub)) = &i.subpat {
                    self.bind_pattern(sub, val);
                }
                self.env.insert(i.ident.to_string(), val.clone());
            }
            syn::Pat::Type(t) => {
                let annotated = merge(self.type_val(&t.ty), val.clone());
                self.bind_pattern(&t.pat, &annotated);
            }
            syn::Pat::Reference(r) => self.bind_pattern(&r.pat, val),
            syn::Pat::Paren(p) => self.bind_pattern(&p.pat, val),
            syn::Pat::Tuple(t) => self.bind_elements(t.elems.iter(), val),
            syn::Pat::TupleStruct(ts) => {
                let variant = ts.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                match variant.as_str() {
                    "Some" | "Ok" => self.bind_elements(ts.elems.iter(), val),
                    "Err" => {
                        for elem in &ts.elems {
                            self.bind_pattern(elem, &Val::host());
                        }
                    }
                    _ => {
                        // A tuple struct of this file (`Wrapper(t)`), else an enum variant of unknown payload.
                        for (index, elem) in ts.elems.iter().enumerate() {
                            let field = self
                                .structs
                                .get(variant.as_str())
                                .and_then(|s| s.fields.get(&index.to_string()).cloned())
                                .unwrap_or_else(Val::unknown);
                            self.bind_pattern(elem, &field);
                        }
                    }
                }
            }
            syn::Pat::Struct(s) => {
                let name = s.path.segments.last().map(|seg| seg.ident.to_string());
                for field in &s.fields {
                    let member = match &field.member {
                        syn::Member::Named(ident) => ident.to_string(),
                        syn::Member::Unnamed(index) => index.index.to_string(),
                    };
                    let val = self.field_of(name.as_deref(), &member).unwrap_or_else(Val::unknown);
                    self.bind_pattern(&field.pat, &val);
                }
            }
            syn::Pat::Slice(s) => {
                let element = val.element();
                for elem in &s.elems {
                    self.bind_pattern(elem, &element);
                }
            }
            syn::Pat::Or(o) => {
                for case in &o.cases {
                    self.bind_pattern(case, val);
                }
            }
            _ => {}
        }
    }

    fn bind_elements<'p>(&mut self, elems: impl ExactSizeIterator<Item = &'p syn::Pat>, val: &Val) {
        let elems: Vec<&syn::Pat> = elems.collect();
        match &val.parts {
            Some(parts) if parts.len() == elems.len() => {
                for (elem, part) in elems.into_iter().zip(parts.clone()) {
                    self.bind_pattern(elem, &part);
                }
            }
            _ if elems.len() == 1 => self.bind_pattern(elems[0], val),
            _ => {
                // What an unknown value's origin resolves to says nothing about one of its parts.
                let element = match &val.ty {
                    Ty::Unknown(Some(_)) => Val::unknown(),
                    _ => val.element(),
                };
                for elem in elems {
                    self.bind_pattern(elem, &element);
                }
            }
        }
    }
}

/// A value's declared type and its inferred value: the declaration wins when it says something.
fn merge(annotated: Val, inferred: Val) -> Val {
    let says_nothing = annotated.ty.is_unknown() && annotated.of.is_none() && annotated.parts.is_none();
    if says_nothing {
        return inferred;
    }
    if annotated.ty.is_tensor() && inferred.ty == Ty::HostTensor {
        return inferred;
    }
    if annotated.ty.is_unknown() && annotated.of.is_some() && !inferred.ty.is_unknown() {
        return Val {
            ty: inferred.ty,
            ..annotated
        };
    }
    annotated
}

/// The attributes of the expressions that commonly carry `#[cfg(...)]`.
fn expr_attrs(expr: &syn::Expr) -> &[syn::Attribute] {
    match expr {
        syn::Expr::Block(e) => &e.attrs,
        syn::Expr::If(e) => &e.attrs,
        syn::Expr::MethodCall(e) => &e.attrs,
        syn::Expr::Call(e) => &e.attrs,
        syn::Expr::Macro(e) => &e.attrs,
        syn::Expr::ForLoop(e) => &e.attrs,
        syn::Expr::Assign(e) => &e.attrs,
        syn::Expr::Match(e) => &e.attrs,
        syn::Expr::Unsafe(e) => &e.attrs,
        _ => &[],
    }
}
