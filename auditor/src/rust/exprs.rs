//! Expressions: each is typed once, and the constructs the rules check are
//! handed to them on the way. Guards (`if self.debug`, `if let Some(log) =
//! gate.logging()`), error paths (`Err(_) =>` arms, `if let Err(..)`) and
//! loops set the local context.

use proc_macro2::Span as TokenSpan;
use syn::spanned::Spanned;

use super::analyzer::{Analyzer, Loc, Val};
use super::paths::{is_type_name, Resolved};
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::{LoopContext, Ty};

impl Analyzer<'_> {
    /// Types `expr` and records the sites inside it.
    pub fn expr(&mut self, expr: &syn::Expr) -> Val {
        self.expr_in_chain(expr, None)
    }

    /// `chain_end`: where the host-side conversion chain this expression starts
    /// ends (`t.to_device(&cpu)?.to_vec1()` is one site, up to `.to_vec1()`).
    pub fn expr_in_chain(&mut self, expr: &syn::Expr, chain_end: Option<Loc>) -> Val {
        if self.depth >= MAX_EXPR_DEPTH {
            self.recorder.too_deep(first_span(expr).byte_range().start);
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
        let saved_guard = self.recorder.context.guard.clone();
        let saved_error = self.recorder.context.error_path.clone();
        if let Some(g) = then_guard {
            self.recorder.context.guard.get_or_insert(g);
        }
        if is_err {
            self.recorder
                .context
                .error_path
                .get_or_insert_with(|| "in an `if let Err(..)` block (error path)".to_string());
        }
        let then_val = self.block(&i.then_branch);
        self.recorder.context.guard = saved_guard.clone();
        self.recorder.context.error_path = saved_error;
        self.env.restore(mark);
        let Some((_, else_branch)) = &i.else_branch else {
            return Val::host();
        };
        if let Some(g) = else_guard {
            self.recorder.context.guard.get_or_insert(g);
        }
        let else_val = self.expr(else_branch);
        self.recorder.context.guard = saved_guard;
        then_val.join(else_val)
    }

    fn match_expr(&mut self, m: &syn::ExprMatch) -> Val {
        let scrutinee = self.expr(&m.expr);
        let mut result: Option<Val> = None;
        for arm in &m.arms {
            let mark = self.env.mark();
            let saved = self.recorder.context.error_path.clone();
            if pattern_variant(&arm.pat) == Some("Err") {
                self.recorder
                    .context
                    .error_path
                    .get_or_insert_with(|| "in an `Err(_)` match arm (error path)".to_string());
            }
            self.bind_pattern(&arm.pat, &scrutinee);
            if let Some((_, guard)) = &arm.guard {
                self.expr(guard);
            }
            let val = self.expr(&arm.body);
            self.recorder.context.error_path = saved;
            self.env.restore(mark);
            result = Some(match result {
                Some(previous) => previous.join(val),
                None => val,
            });
        }
        result.unwrap_or_else(Val::host)
    }

    fn loop_body(&mut self, start: TokenSpan, body: &syn::Block, cond: Option<&syn::Expr>) {
        let saved = self.recorder.context.in_loop.clone();
        let line = u32::try_from(start.start().line).unwrap_or(u32::MAX);
        let calls_model = self.model_call_in(body, cond);
        self.recorder.context.in_loop = Some(LoopContext { line, calls_model });
        if let Some(cond) = cond {
            self.expr(cond);
        }
        self.block(body);
        self.recorder.context.in_loop = saved;
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
