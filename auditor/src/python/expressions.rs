//! Expressions: each is typed once, and the constructs the rules check are
//! handed to them on the way (conditions, indices, formatted values).

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextSize};

use super::analyzer::Analyzer;
use super::apis;
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::Ty;
use crate::rules;

impl Analyzer<'_> {
    /// Types `expr` and records the sites inside it.
    pub fn expr(&mut self, expr: &Expr) -> Ty {
        self.expr_in_chain(expr, None)
    }

    /// Types `expr` without recording anything (for looking a second time).
    pub fn quiet_expr(&mut self, expr: &Expr) -> Ty {
        let saved = self.recorder.recording;
        self.recorder.recording = false;
        let ty = self.expr(expr);
        self.recorder.recording = saved;
        ty
    }

    /// `chain_end`: where the host-side conversion chain this expression starts
    /// ends (`x.cpu()` in `x.cpu().numpy()` reports up to `.numpy()`).
    pub(super) fn expr_in_chain(&mut self, expr: &Expr, chain_end: Option<TextSize>) -> Ty {
        if self.depth >= MAX_EXPR_DEPTH {
            self.recorder.too_deep(expr.start().to_usize());
            return Ty::UNKNOWN;
        }
        self.depth += 1;
        let ty = self.expr_kind(expr, chain_end);
        self.depth -= 1;
        ty
    }

    fn expr_kind(&mut self, expr: &Expr, chain_end: Option<TextSize>) -> Ty {
        match expr {
            Expr::Call(call) => self.call(call, chain_end),
            Expr::Name(name) => self.lookup(name.id.as_str()),
            Expr::Attribute(attr) => self.attribute(attr),
            Expr::Subscript(subscript) => self.subscript(subscript),
            Expr::BoolOp(bool_op) => {
                // Every operand but the last is tested for truth.
                let mut ty = Ty::Host;
                let last = bool_op.values.len().saturating_sub(1);
                let mut shadowed = Vec::new();
                for (i, value) in bool_op.values.iter().enumerate() {
                    let value_ty = if i < last { self.truth(value) } else { self.expr(value) };
                    ty = if i == 0 { value_ty } else { ty.join(value_ty) };
                    shadowed.extend(self.narrow_after(bool_op.op, value));
                }
                self.unnarrow(shadowed);
                ty
            }
            Expr::Named(named) => {
                let ty = self.expr(&named.value);
                self.bind(&named.target, &ty);
                ty
            }
            Expr::BinOp(bin_op) => self.bin_op(bin_op),
            Expr::UnaryOp(unary) => match unary.op {
                ast::UnaryOp::Not => {
                    self.truth(&unary.operand);
                    Ty::Host
                }
                _ => self.expr(&unary.operand),
            },
            Expr::Lambda(lambda) => {
                let names: Vec<String> = lambda
                    .parameters
                    .iter()
                    .flat_map(|p| p.iter_non_variadic_params())
                    .map(|p| p.parameter.name.to_string())
                    .collect();
                let saved = self.shadow(&names);
                for name in names {
                    self.env.insert(name, Ty::UNKNOWN);
                }
                self.expr(&lambda.body);
                self.unshadow(saved);
                Ty::Host
            }
            Expr::If(if_expr) => {
                self.truth(&if_expr.test);
                let narrowing = self.narrowing(&if_expr.test);
                let shadowed = self.narrow(&narrowing.then);
                let body = self.expr(&if_expr.body);
                self.unnarrow(shadowed);
                let shadowed = self.narrow(&narrowing.orelse);
                let orelse = self.expr(&if_expr.orelse);
                self.unnarrow(shadowed);
                // `x.to(..) if isinstance(x, Tensor) else int(x)` is whatever `x` is: a
                // tensor only by narrowing does not make the whole a tensor.
                if !narrowing.then.is_empty() && body.is_tensor() && !orelse.is_tensor() {
                    return orelse;
                }
                body.join(orelse)
            }
            Expr::Dict(dict) => {
                for item in &dict.items {
                    if let Some(key) = &item.key {
                        self.expr(key);
                    }
                    self.expr(&item.value);
                }
                Ty::Host
            }
            Expr::Set(set) => {
                set.elts.iter().for_each(|e| {
                    self.expr(e);
                });
                Ty::Host
            }
            Expr::List(list) => {
                list.elts.iter().for_each(|e| {
                    self.expr(e);
                });
                Ty::HostSeq
            }
            Expr::Tuple(tuple) => {
                tuple.elts.iter().for_each(|e| {
                    self.expr(e);
                });
                Ty::HostSeq
            }
            Expr::ListComp(comp) => {
                self.comprehension(&comp.generators, &[&comp.elt]);
                Ty::HostSeq
            }
            Expr::SetComp(comp) => {
                self.comprehension(&comp.generators, &[&comp.elt]);
                Ty::Host
            }
            Expr::DictComp(comp) => {
                let mut elements: Vec<&Expr> = vec![&comp.value];
                if let Some(key) = comp.key.as_deref() {
                    elements.insert(0, key);
                }
                self.comprehension(&comp.generators, &elements);
                Ty::Host
            }
            Expr::Generator(generator) => {
                self.comprehension(&generator.generators, &[&generator.elt]);
                Ty::UNKNOWN
            }
            Expr::Await(await_expr) => {
                self.expr(&await_expr.value);
                Ty::UNKNOWN
            }
            Expr::Yield(yield_expr) => {
                if let Some(value) = &yield_expr.value {
                    self.expr(value);
                }
                Ty::UNKNOWN
            }
            Expr::YieldFrom(yield_from) => {
                self.expr(&yield_from.value);
                Ty::UNKNOWN
            }
            Expr::Compare(compare) => self.compare(compare),
            Expr::FString(fstring) => {
                self.fstring(fstring);
                Ty::Host
            }
            Expr::TString(_) => Ty::Host,
            Expr::Starred(starred) => self.expr(&starred.value),
            Expr::Slice(slice) => {
                for bound in [&slice.lower, &slice.upper, &slice.step].into_iter().flatten() {
                    let ty = self.expr(bound);
                    let what = "used as a slice bound (`__index__`)";
                    rules::scalar_read::python_index(&mut self.recorder, bound.range(), &ty, what);
                }
                Ty::Host
            }
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => Ty::Host,
        }
    }

    /// Types `test` and records a D2H002 site when a tensor is used as a condition.
    pub fn truth(&mut self, test: &Expr) -> Ty {
        if self.depth >= MAX_EXPR_DEPTH {
            self.recorder.too_deep(test.start().to_usize());
            return Ty::UNKNOWN;
        }
        self.depth += 1;
        let ty = self.truth_kind(test);
        self.depth -= 1;
        ty
    }

    fn truth_kind(&mut self, test: &Expr) -> Ty {
        match test {
            Expr::BoolOp(bool_op) => {
                let mut ty = Ty::Host;
                let mut shadowed = Vec::new();
                for value in &bool_op.values {
                    ty = self.truth(value);
                    shadowed.extend(self.narrow_after(bool_op.op, value));
                }
                self.unnarrow(shadowed);
                ty
            }
            Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::Not => {
                self.truth(&unary.operand);
                Ty::Host
            }
            _ => {
                let ty = self.expr(test);
                rules::scalar_read::python_condition(&mut self.recorder, test.range(), &ty);
                ty
            }
        }
    }

    fn comprehension(&mut self, generators: &[ast::Comprehension], elements: &[&Expr]) {
        let mut names = Vec::new();
        for generator in generators {
            collect_names(&generator.target, &mut names);
        }
        let saved = self.shadow(&names);
        let saved_loop = self.recorder.context.in_loop.clone();
        for generator in generators {
            let iter = self.expr(&generator.iter);
            self.bind_loop_target(&generator.target, &generator.iter, &iter);
            for condition in &generator.ifs {
                self.truth(condition);
            }
        }
        for element in elements {
            self.expr(element);
        }
        self.recorder.context.in_loop = saved_loop;
        self.unshadow(saved);
    }

    /// Saves what `names` are bound to before a comprehension or lambda rebinds them.
    fn shadow(&self, names: &[String]) -> Vec<(String, Option<Ty>)> {
        names.iter().map(|n| (n.clone(), self.env.get(n).cloned())).collect()
    }

    fn unshadow(&mut self, saved: Vec<(String, Option<Ty>)>) {
        for (name, ty) in saved {
            match ty {
                Some(ty) => self.env.insert(name, ty),
                None => self.env.remove(&name),
            };
        }
    }

    fn attribute(&mut self, attr: &ast::ExprAttribute) -> Ty {
        let member = attr.attr.as_str();
        if matches!(attr.value.as_ref(), Expr::Name(base) if base.id.as_str() == "self") {
            return self.self_attribute_type(member);
        }
        if self.imports.is_imported_root(&attr.value) {
            return Ty::Host;
        }
        let base = self.expr(&attr.value);
        match base {
            // `.to(host.device)` moves to where a host tensor lives: the host.
            Ty::HostTensor if member == "device" => Ty::CpuDevice,
            Ty::Tensor { .. } | Ty::HostTensor | Ty::Unknown(_)
                if apis::contains(apis::METADATA_ATTRIBUTES, member) =>
            {
                Ty::Host
            }
            Ty::Tensor { .. } => {
                if member == "T" || member == "mT" || member == "data" || member == "grad" {
                    base
                } else {
                    Ty::TENSOR
                }
            }
            Ty::HostTensor => Ty::HostTensor,
            Ty::Unknown(origin) if matches!(member, "T" | "mT" | "data") => Ty::Unknown(origin),
            Ty::Host | Ty::HostSeq | Ty::CpuDevice => Ty::Host,
            _ => Ty::UNKNOWN,
        }
    }

    fn subscript(&mut self, subscript: &ast::ExprSubscript) -> Ty {
        let filling = std::mem::take(&mut self.filling_store);
        let base = self.expr(&subscript.value);
        let indices: Vec<&Expr> = match subscript.slice.as_ref() {
            Expr::Tuple(tuple) => tuple.elts.iter().collect(),
            other => vec![other],
        };
        for index in indices {
            let ty = self.expr(index);
            let shape = if self.is_integer_index(index) {
                rules::data_dependent_shape::IndexShape::Integer
            } else if self.is_syntactic_mask(index) {
                rules::data_dependent_shape::IndexShape::Mask
            } else {
                rules::data_dependent_shape::IndexShape::Other
            };
            let cx = &mut self.recorder;
            // `t[mask] = 0` on the device is a masked fill: no sync (a host `t` still copies the
            // mask). A fill into a value of unknown type is no evidence of a sync either.
            if !(filling && (base.is_tensor() || base.is_unknown())) {
                rules::data_dependent_shape::python_subscript(cx, &base, index, &ty, shape, subscript.range());
            }
            rules::blocking_upload::python_subscript(cx, &base, index, &ty, subscript.range());
            rules::explicit_copy::python_subscript(cx, &base, &ty, subscript.range());
            if base == Ty::HostSeq {
                let what = "used as a list index (`__index__`)";
                rules::scalar_read::python_index(cx, index.range(), &ty, what);
            } else if base.is_tensor()
                && matches!(
                    ty,
                    Ty::Tensor {
                        scalar: true,
                        mask: false
                    }
                )
            {
                // `x[scores.argmax()]`: a 0-d index is read as a Python int (measured: syncs).
                let what = "used as an index: a 0-d index is read as a Python int (`__index__`)";
                rules::scalar_read::python_index(cx, index.range(), &ty, what);
            }
        }
        match base {
            Ty::Tensor { .. } => Ty::TENSOR,
            Ty::HostTensor => Ty::HostTensor,
            Ty::Unknown(origin) => Ty::Unknown(origin),
            Ty::Host => Ty::Host,
            _ => Ty::UNKNOWN,
        }
    }

    fn bin_op(&mut self, bin_op: &ast::ExprBinOp) -> Ty {
        let is_percent_format = bin_op.op == ast::Operator::Mod
            && matches!(bin_op.left.as_ref(), Expr::StringLiteral(_) | Expr::FString(_));
        let left = self.expr(&bin_op.left);
        if is_percent_format {
            match bin_op.right.as_ref() {
                Expr::Tuple(tuple) => {
                    for elt in &tuple.elts {
                        let ty = self.expr(elt);
                        rules::host_format::python_formatted(
                            &mut self.recorder,
                            elt.range(),
                            &ty,
                            "formatted with `%`",
                        );
                    }
                }
                right => {
                    let ty = self.expr(right);
                    rules::host_format::python_formatted(&mut self.recorder, right.range(), &ty, "formatted with `%`");
                }
            }
            return Ty::Host;
        }
        let right = self.expr(&bin_op.right);
        let is_logical = matches!(
            bin_op.op,
            ast::Operator::BitAnd | ast::Operator::BitOr | ast::Operator::BitXor
        );
        combine(left, right, is_logical)
    }

    fn compare(&mut self, compare: &ast::ExprCompare) -> Ty {
        let identity = compare.ops.iter().all(|op| {
            matches!(
                op,
                ast::CmpOp::Is | ast::CmpOp::IsNot | ast::CmpOp::In | ast::CmpOp::NotIn
            )
        });
        let mut tys = vec![self.expr(&compare.left)];
        for comparator in compare.comparators.iter() {
            tys.push(self.expr(comparator));
        }
        if identity {
            return Ty::Host;
        }
        if tys.iter().any(Ty::is_tensor) {
            let scalar = tys
                .iter()
                .all(|t| !t.is_tensor() || matches!(t, Ty::Tensor { scalar: true, .. }));
            return Ty::Tensor { mask: true, scalar };
        }
        if tys.contains(&Ty::HostTensor) {
            return Ty::HostTensor;
        }
        tys.into_iter()
            .find(|t| matches!(t, Ty::Unknown(Some(_))))
            .unwrap_or(Ty::Host)
    }

    fn fstring(&mut self, fstring: &ast::ExprFString) {
        let elements: Vec<&ast::InterpolatedElement> =
            fstring.value.elements().filter_map(|e| e.as_interpolation()).collect();
        for element in elements {
            let ty = self.expr(&element.expression);
            let how = "interpolated in an f-string";
            rules::host_format::python_formatted(&mut self.recorder, element.expression.range(), &ty, how);
            if let Some(spec) = &element.format_spec {
                for inner in spec.elements.iter().filter_map(|e| e.as_interpolation()) {
                    self.expr(&inner.expression);
                }
            }
        }
    }
}

fn collect_names(target: &Expr, names: &mut Vec<String>) {
    match target {
        Expr::Name(name) => names.push(name.id.to_string()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| collect_names(e, names)),
        Expr::List(l) => l.elts.iter().for_each(|e| collect_names(e, names)),
        Expr::Starred(s) => collect_names(&s.value, names),
        _ => {}
    }
}

/// The type of `left op right` for arithmetic and bitwise operators.
fn combine(left: Ty, right: Ty, is_logical: bool) -> Ty {
    let mask = is_logical && (left.is_mask() || right.is_mask());
    match (&left, &right) {
        (Ty::Tensor { scalar: a, .. }, Ty::Tensor { scalar: b, .. }) => Ty::Tensor { mask, scalar: *a && *b },
        (Ty::Tensor { scalar, .. }, _) | (_, Ty::Tensor { scalar, .. }) => {
            let other = if left.is_tensor() { &right } else { &left };
            Ty::Tensor {
                mask,
                scalar: *scalar && other.is_host(),
            }
        }
        (Ty::HostTensor, _) | (_, Ty::HostTensor) => Ty::HostTensor,
        (Ty::Unknown(Some(_)), _) => left,
        (_, Ty::Unknown(Some(_))) => right,
        (Ty::Unknown(None), _) | (_, Ty::Unknown(None)) => Ty::UNKNOWN,
        _ => Ty::Host,
    }
}
