//! Statements and expressions: each expression is typed once, and the sites it
//! contains are recorded on the way. Blocks scope their `let`s; guards
//! (`if self.debug`, `if let Some(log) = gate.logging()`), error paths
//! (`Err(_) =>` arms, `if let Err(..)`) and loops set the local context.

use proc_macro2::Span as TokenSpan;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::analyzer::{Analyzer, Loc, Val, MAX_EXPR_DEPTH};
use super::items::is_cfg_debug;
use super::paths::{is_type_name, Resolved};
use crate::model::{LoopContext, Ty};

/// Decides, per statement index of a block, a cold block for it (`fn main` before its loop).
pub type Phase<'p> = &'p dyn Fn(usize) -> Option<String>;

impl Analyzer<'_> {
    pub fn block(&mut self, block: &syn::Block) -> Val {
        self.stmts(&block.stmts, None)
    }

    pub fn stmts(&mut self, stmts: &[syn::Stmt], phase: Option<Phase<'_>>) -> Val {
        let mark = self.env.mark();
        let saved_guard = self.context.guard.clone();
        let saved_cold = self.context.cold_block.clone();
        let mut tail = Val::host();
        for (i, stmt) in stmts.iter().enumerate() {
            if let Some(phase) = phase {
                self.context.cold_block = phase(i).or_else(|| saved_cold.clone());
            }
            let (val, guard_rest) = self.stmt(stmt);
            if i + 1 == stmts.len() && matches!(stmt, syn::Stmt::Expr(_, None)) {
                tail = val;
            }
            if let Some(guard) = guard_rest {
                self.context.guard.get_or_insert(guard);
            }
        }
        self.context.cold_block = saved_cold;
        self.context.guard = saved_guard;
        self.env.restore(mark);
        tail
    }

    /// A statement's value, and the guard it puts on the rest of its block, if any.
    fn stmt(&mut self, stmt: &syn::Stmt) -> (Val, Option<String>) {
        match stmt {
            syn::Stmt::Local(local) => {
                let saved = self.context.guard.clone();
                if is_cfg_debug(&local.attrs) {
                    self.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let guard = self.local(local);
                self.context.guard = saved;
                (Val::host(), guard)
            }
            syn::Stmt::Item(item) => {
                self.item(item);
                (Val::host(), None)
            }
            syn::Stmt::Expr(expr, _) => {
                let saved = self.context.guard.clone();
                if is_cfg_debug(expr_attrs(expr)) {
                    self.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let val = self.expr(expr);
                self.context.guard = saved;
                (val, self.early_exit_guard(expr))
            }
            syn::Stmt::Macro(m) => {
                let saved = self.context.guard.clone();
                if is_cfg_debug(&m.attrs) {
                    self.context.guard = Some("#[cfg(debug_assertions)]".to_string());
                }
                let val = self.macro_call(&m.mac);
                self.context.guard = saved;
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
            let saved = self.context.error_path.clone();
            if pattern_variant(&local.pat) == Some("Ok") {
                self.context
                    .error_path
                    .get_or_insert_with(|| "in the `else` of a `let Ok(..)` (error path)".to_string());
            }
            if let Some((text, false)) = self.guard_of(&init.expr) {
                guard_rest = Some(text);
            }
            self.expr(diverge);
            self.context.error_path = saved;
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

    /// Types `expr` and records the sites inside it.
    pub fn expr(&mut self, expr: &syn::Expr) -> Val {
        self.expr_in_chain(expr, None)
    }

    /// `chain_end`: where the host-side conversion chain this expression starts
    /// ends (`t.to_device(&cpu)?.to_vec1()` is one site, up to `.to_vec1()`).
    pub fn expr_in_chain(&mut self, expr: &syn::Expr, chain_end: Option<Loc>) -> Val {
        if self.depth >= MAX_EXPR_DEPTH {
            if self.out.too_deep_at.is_none() {
                self.out.too_deep_at = Some(first_span(expr).byte_range().start);
            }
            return Val::unknown();
        }
        self.depth += 1;
        let val = self.expr_kind(expr, chain_end);
        self.depth -= 1;
        val
    }

    fn expr_kind(&mut self, expr: &syn::Expr, chain_end: Option<Loc>) -> Val {
        match expr {
            syn::Expr::MethodCall(m) => self.method_call(m, chain_end),
            syn::Expr::Call(c) => self.call(c, chain_end),
            syn::Expr::Macro(m) => self.macro_call(&m.mac),
            syn::Expr::Path(p) => self.path_value(p),
            syn::Expr::Field(f) => {
                let base = self.expr(&f.base);
                match &f.member {
                    syn::Member::Unnamed(index) => {
                        if let Some(part) = base.parts.as_ref().and_then(|p| p.get(index.index as usize)) {
                            return part.clone();
                        }
                        self.field_of(base.of.as_deref(), &index.index.to_string())
                            .unwrap_or_else(|| base.element())
                    }
                    syn::Member::Named(ident) => {
                        let name = ident.to_string();
                        if base.ty.is_tensor() && base.of.is_none() {
                            return Val::tensor();
                        }
                        self.field_of(base.of.as_deref(), &name).unwrap_or_else(Val::unknown)
                    }
                }
            }
            syn::Expr::Try(t) => self.expr_in_chain(&t.expr, chain_end),
            syn::Expr::Reference(r) => self.expr_in_chain(&r.expr, chain_end),
            syn::Expr::Paren(p) => self.expr_in_chain(&p.expr, chain_end),
            syn::Expr::Group(g) => self.expr_in_chain(&g.expr, chain_end),
            syn::Expr::Await(a) => self.expr_in_chain(&a.base, chain_end),
            syn::Expr::RawAddr(r) => self.expr(&r.expr),
            syn::Expr::Unary(u) => {
                let inner = self.expr(&u.expr);
                match u.op {
                    syn::UnOp::Not(_) if !inner.is_tensor() => Val::host(),
                    _ => inner,
                }
            }
            syn::Expr::Binary(b) => self.binary(b),
            syn::Expr::Assign(a) => {
                let val = self.expr(&a.right);
                if let syn::Expr::Path(p) = &*a.left {
                    if let Some(ident) = p.path.get_ident() {
                        let name = ident.to_string();
                        // Keep what the name was declared as when the new value says less.
                        let merged = match self.env.get(&name) {
                            Some(old) if val.ty.is_unknown() && val.of.is_none() => old.clone(),
                            _ => val,
                        };
                        self.env.insert(name, merged);
                        return Val::host();
                    }
                }
                self.expr(&a.left);
                Val::host()
            }
            syn::Expr::Block(b) => self.block(&b.block),
            syn::Expr::Unsafe(u) => self.block(&u.block),
            syn::Expr::Async(a) => {
                self.block(&a.block);
                Val::unknown()
            }
            syn::Expr::TryBlock(t) => self.block(&t.block),
            syn::Expr::Const(c) => self.block(&c.block),
            syn::Expr::If(i) => self.if_expr(i),
            syn::Expr::Match(m) => self.match_expr(m),
            syn::Expr::ForLoop(f) => {
                let iter = self.expr(&f.expr);
                let element = if matches!(*f.expr, syn::Expr::Range(_)) {
                    Val::host()
                } else if iter.parts.is_some() {
                    iter
                } else {
                    iter.element()
                };
                let mark = self.env.mark();
                self.bind_pattern(&f.pat, &element);
                self.loop_body(first_span(expr), &f.body, None);
                self.env.restore(mark);
                Val::host()
            }
            syn::Expr::While(w) => {
                let mark = self.env.mark();
                self.loop_body(first_span(expr), &w.body, Some(&w.cond));
                self.env.restore(mark);
                Val::host()
            }
            syn::Expr::Loop(l) => {
                self.loop_body(first_span(expr), &l.body, None);
                Val::unknown()
            }
            syn::Expr::Closure(c) => {
                self.closure(c, None);
                Val::host()
            }
            syn::Expr::Let(l) => {
                let val = self.expr(&l.expr);
                self.bind_pattern(&l.pat, &val);
                Val::host()
            }
            syn::Expr::Tuple(t) => {
                if t.elems.is_empty() {
                    return Val::host();
                }
                let parts = t.elems.iter().map(|e| self.expr(e)).collect();
                Val::tuple(parts)
            }
            syn::Expr::Array(a) => {
                let elems: Vec<Val> = a.elems.iter().map(|e| self.expr(e)).collect();
                // An array of tuples: iterating it binds the parts.
                let arity = elems.first().and_then(|v| v.parts.as_ref().map(Vec::len));
                if let Some(arity) = arity.filter(|_| elems.iter().all(|v| v.parts.as_ref().map(Vec::len) == arity)) {
                    let parts = (0..arity)
                        .map(|i| {
                            elems
                                .iter()
                                .filter_map(|v| v.parts.as_ref().map(|p| p[i].clone()))
                                .reduce(Val::join)
                                .unwrap_or_else(Val::unknown)
                        })
                        .collect();
                    return Val::tuple(parts);
                }
                if elems.iter().any(Val::is_tensor) {
                    Val::tensor()
                } else {
                    Val::host()
                }
            }
            syn::Expr::Repeat(r) => {
                let elem = self.expr(&r.expr);
                self.expr(&r.len);
                if elem.is_tensor() {
                    Val::tensor()
                } else {
                    Val::host()
                }
            }
            syn::Expr::Index(i) => {
                let base = self.expr(&i.expr);
                self.expr(&i.index);
                if matches!(*i.index, syn::Expr::Range(_)) {
                    return match base.ty {
                        Ty::Tensor { .. } => Val::tensor(),
                        _ => Val::host(),
                    };
                }
                base.element()
            }
            syn::Expr::Struct(s) => {
                for field in &s.fields {
                    self.expr(&field.expr);
                }
                if let Some(rest) = &s.rest {
                    self.expr(rest);
                }
                let name = s.path.segments.last().map(|seg| seg.ident.to_string());
                match name {
                    Some(n) if n == "Self" => match &self.impl_scope {
                        Some(scope) => self.named_type(&scope.ty.clone()),
                        None => Val::unknown(),
                    },
                    Some(n) if is_type_name(&n) => self.named_type(&n),
                    _ => Val::unknown(),
                }
            }
            syn::Expr::Cast(c) => {
                self.expr(&c.expr);
                Val::host()
            }
            syn::Expr::Range(r) => {
                if let Some(start) = &r.start {
                    self.expr(start);
                }
                if let Some(end) = &r.end {
                    self.expr(end);
                }
                Val::host()
            }
            syn::Expr::Return(r) => {
                if let Some(value) = &r.expr {
                    self.expr(value);
                }
                Val::host()
            }
            syn::Expr::Break(b) => {
                if let Some(value) = &b.expr {
                    self.expr(value);
                }
                Val::host()
            }
            syn::Expr::Yield(y) => {
                if let Some(value) = &y.expr {
                    self.expr(value);
                }
                Val::unknown()
            }
            syn::Expr::Lit(_) | syn::Expr::Continue(_) => Val::host(),
            _ => Val::unknown(),
        }
    }

    /// A path used as a value: a local, `self`, a const, `Device::Cpu`.
    fn path_value(&mut self, p: &syn::ExprPath) -> Val {
        if let Some(ident) = p.path.get_ident() {
            if let Some(val) = self.lookup(&ident.to_string()) {
                return val;
            }
        }
        let last = p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if last == "Cpu" || last.ends_with("_CPU") {
            return Val::ty(Ty::CpuDevice);
        }
        if p.path.segments.len() == 1 && last.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            return Val::host();
        }
        if p.path.segments.len() == 1 && self.structs.contains_key(&last) {
            // A unit struct value (`Local`).
            return self.named_type(&last);
        }
        match self.resolve_path(&p.path) {
            Resolved::Library(_) => Val::host(),
            _ => Val::unknown(),
        }
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Val {
        let left = self.expr(&b.left);
        let right = self.expr(&b.right);
        use syn::BinOp::*;
        match b.op {
            Add(_) | Sub(_) | Mul(_) | Div(_) | Rem(_) | BitAnd(_) | BitOr(_) | BitXor(_) | Shl(_) | Shr(_) => {
                match (&left.ty, &right.ty) {
                    (Ty::Tensor { .. }, _) | (_, Ty::Tensor { .. }) => Val::tensor(),
                    (Ty::HostTensor, _) | (_, Ty::HostTensor) => Val::host_tensor(),
                    (Ty::Unknown(Some(_)), _) if left.of.is_none() => left,
                    (_, Ty::Unknown(Some(_))) if right.of.is_none() => right,
                    (Ty::Unknown(_), _) | (_, Ty::Unknown(_)) => Val::unknown(),
                    _ => Val::host(),
                }
            }
            _ => Val::host(),
        }
    }

    fn if_expr(&mut self, i: &syn::ExprIf) -> Val {
        let guard = self.guard_of(&i.cond);
        let (then_guard, else_guard) = match &guard {
            Some((text, false)) => (Some(text.clone()), None),
            Some((text, true)) => (None, Some(text.clone())),
            None => (None, None),
        };
        let is_err = matches!(&*i.cond, syn::Expr::Let(l) if pattern_variant(&l.pat) == Some("Err"));
        let mark = self.env.mark();
        self.expr(&i.cond);
        let saved_guard = self.context.guard.clone();
        let saved_error = self.context.error_path.clone();
        if let Some(g) = then_guard {
            self.context.guard.get_or_insert(g);
        }
        if is_err {
            self.context
                .error_path
                .get_or_insert_with(|| "in an `if let Err(..)` block (error path)".to_string());
        }
        let then_val = self.block(&i.then_branch);
        self.context.guard = saved_guard.clone();
        self.context.error_path = saved_error;
        self.env.restore(mark);
        let Some((_, else_branch)) = &i.else_branch else {
            return Val::host();
        };
        if let Some(g) = else_guard {
            self.context.guard.get_or_insert(g);
        }
        let else_val = self.expr(else_branch);
        self.context.guard = saved_guard;
        then_val.join(else_val)
    }

    fn match_expr(&mut self, m: &syn::ExprMatch) -> Val {
        let scrutinee = self.expr(&m.expr);
        let mut result: Option<Val> = None;
        for arm in &m.arms {
            let mark = self.env.mark();
            let saved = self.context.error_path.clone();
            if pattern_variant(&arm.pat) == Some("Err") {
                self.context
                    .error_path
                    .get_or_insert_with(|| "in an `Err(_)` match arm (error path)".to_string());
            }
            self.bind_pattern(&arm.pat, &scrutinee);
            if let Some((_, guard)) = &arm.guard {
                self.expr(guard);
            }
            let val = self.expr(&arm.body);
            self.context.error_path = saved;
            self.env.restore(mark);
            result = Some(match result {
                Some(previous) => previous.join(val),
                None => val,
            });
        }
        result.unwrap_or_else(Val::host)
    }

    fn loop_body(&mut self, start: TokenSpan, body: &syn::Block, cond: Option<&syn::Expr>) {
        let saved = self.context.in_loop.clone();
        let line = u32::try_from(start.start().line).unwrap_or(u32::MAX);
        let calls_model = self.model_call_in(body, cond);
        self.context.in_loop = Some(LoopContext { line, calls_model });
        if let Some(cond) = cond {
            self.expr(cond);
        }
        self.block(body);
        self.context.in_loop = saved;
    }

    /// A closure: its first parameter is `hint` (the element of the iterator it maps over) when known.
    pub fn closure(&mut self, c: &syn::ExprClosure, hint: Option<&Val>) -> Val {
        let mark = self.env.mark();
        for (i, input) in c.inputs.iter().enumerate() {
            let val = match (i, hint) {
                (0, Some(h)) => h.clone(),
                _ => Val::unknown(),
            };
            self.bind_pattern(input, &val);
        }
        let val = self.expr(&c.body);
        self.env.restore(mark);
        val
    }

    /// If `cond` is a debug/logging condition: its text, and whether it is negated.
    pub fn guard_of(&self, cond: &syn::Expr) -> Option<(String, bool)> {
        self.guard_of_depth(cond, 0)
    }

    fn guard_of_depth(&self, cond: &syn::Expr, depth: usize) -> Option<(String, bool)> {
        if depth > 16 {
            return None;
        }
        let text = || self.code(Loc::from_spans(first_span(cond), cond.span()));
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
                let is_guard = self.rust.is_guard_macro(&name)
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
        self.policy.is_guard_name(name) || self.rust.is_log_name(name)
    }

    /// The model-like call in a loop body that makes it a frame loop, if any.
    fn model_call_in(&self, body: &syn::Block, cond: Option<&syn::Expr>) -> Option<String> {
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
                let runs =
                    !m.args.is_empty() && (a.policy.is_model_name(&method) || a.rust.is_model_run_method(&method));
                if a.policy.hot_by_name(&method).is_some() || runs {
                    let receiver = a.code(Loc::from_spans(first_span(&m.receiver), m.receiver.span()));
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
                        self.found = Some(a.code(Loc::from_spans(first_span(&c.func), c.func.span())));
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

/// Which variant a pattern matches at its top (`Err` for `Err(_)`, `Ok` for `Ok(x)`).
pub fn pattern_variant(pat: &syn::Pat) -> Option<&'static str> {
    let path = match pat {
        syn::Pat::TupleStruct(ts) => &ts.path,
        syn::Pat::Path(p) => &p.path,
        syn::Pat::Or(o) => return o.cases.iter().find_map(pattern_variant),
        syn::Pat::Paren(p) => return pattern_variant(&p.pat),
        _ => return None,
    };
    let last = path.segments.last()?.ident.to_string();
    match last.as_str() {
        "Err" => Some("Err"),
        "Ok" => Some("Ok"),
        "Some" => Some("Some"),
        _ => None,
    }
}

/// The last name of a path or field expression (`debug` for `self.cfg.debug`).
pub fn last_name(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Expr::Field(f) => match &f.member {
            syn::Member::Named(ident) => Some(ident.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        syn::Expr::Reference(r) => last_name(&r.expr),
        syn::Expr::Paren(p) => last_name(&p.expr),
        _ => None,
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

/// The span of the first token of an expression, found without tokenising the whole expression.
pub fn first_span(expr: &syn::Expr) -> TokenSpan {
    let mut expr = expr;
    for _ in 0..MAX_EXPR_DEPTH {
        expr = match expr {
            syn::Expr::MethodCall(m) => &m.receiver,
            syn::Expr::Call(c) => &c.func,
            syn::Expr::Field(f) => &f.base,
            syn::Expr::Try(t) => &t.expr,
            syn::Expr::Index(i) => &i.expr,
            syn::Expr::Binary(b) => &b.left,
            syn::Expr::Cast(c) => &c.expr,
            syn::Expr::Await(a) => &a.base,
            syn::Expr::Assign(a) => &a.left,
            syn::Expr::Range(r) => match &r.start {
                Some(start) => start,
                None => return r.limits.span(),
            },
            syn::Expr::Path(p) => {
                return match (&p.qself, &p.path.leading_colon, p.path.segments.first()) {
                    (Some(q), _, _) => q.lt_token.span,
                    (None, Some(colon), _) => colon.spans[0],
                    (None, None, Some(seg)) => seg.ident.span(),
                    _ => p.span(),
                }
            }
            syn::Expr::Macro(m) => return first_path_span(&m.mac.path),
            syn::Expr::Lit(l) => return l.lit.span(),
            syn::Expr::Paren(p) => return p.paren_token.span.open(),
            syn::Expr::Tuple(t) => return t.paren_token.span.open(),
            syn::Expr::Array(a) => return a.bracket_token.span.open(),
            syn::Expr::Reference(r) => return r.and_token.span,
            syn::Expr::Unary(u) => return u.op.span(),
            syn::Expr::Block(b) if b.label.is_none() => return b.block.brace_token.span.open(),
            syn::Expr::If(i) => return i.if_token.span,
            syn::Expr::Match(m) => return m.match_token.span,
            syn::Expr::ForLoop(f) if f.label.is_none() => return f.for_token.span,
            syn::Expr::While(w) if w.label.is_none() => return w.while_token.span,
            syn::Expr::Loop(l) if l.label.is_none() => return l.loop_token.span,
            syn::Expr::Return(r) => return r.return_token.span,
            syn::Expr::Let(l) => return l.let_token.span,
            syn::Expr::Struct(s) => match s.path.segments.first() {
                Some(seg) => return seg.ident.span(),
                None => return s.span(),
            },
            other => return other.span(),
        };
    }
    expr.span()
}

/// The span of a path's first token.
pub fn first_path_span(path: &syn::Path) -> TokenSpan {
    match (&path.leading_colon, path.segments.first()) {
        (Some(colon), _) => colon.spans[0],
        (None, Some(seg)) => seg.ident.span(),
        _ => path.span(),
    }
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
