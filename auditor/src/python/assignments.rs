//! What an assignment tells: whether its target now holds pinned host memory
//! (`.pin_memory()`, `pin_memory=True`), so that a non-blocking upload from
//! it is told apart from one from pageable memory; and whether it writes one
//! element of a device tensor (`t[i] = v`), which the rules check.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::analyzer::{name_of, self_attribute, Analyzer};
use crate::model::Ty;
use crate::rules;

impl Analyzer<'_> {
    /// `t[i] = value` with integer indices only: writing a Python value into one
    /// element of a device tensor copies it through the host (measured on an H100
    /// with torch's sync debug mode; slice assignments such as `t[:, 0] = 2.0` are
    /// fills and do not). A device value (`t[i] = loss.sum()`) is copied on the
    /// device: no sync (measured on an H200, torch 2.11).
    pub(super) fn element_assignment(&mut self, subscript: &ast::ExprSubscript, value: &Ty) {
        let indices: Vec<&Expr> = match subscript.slice.as_ref() {
            Expr::Tuple(tuple) => tuple.elts.iter().collect(),
            other => vec![other],
        };
        let integer_only = indices.iter().all(|index| {
            !matches!(
                index,
                Expr::Slice(_) | Expr::EllipsisLiteral(_) | Expr::NoneLiteral(_) | Expr::StringLiteral(_)
            ) && matches!(self.quiet_expr(index), Ty::Host)
        });
        if !integer_only || !self.quiet_expr(&subscript.value).is_tensor() {
            return;
        }
        rules::blocking_upload::python_element_assignment(&mut self.recorder, subscript.range(), value);
    }

    /// Whether `expr` is pinned host memory: `.pin_memory()`, `pin_memory=True`, or a name bound to one.
    pub(super) fn is_pinned(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => {
                let pins = call.arguments.keywords.iter().any(|k| {
                    k.arg.as_ref().is_some_and(|a| a.as_str() == "pin_memory")
                        && matches!(&k.value, Expr::BooleanLiteral(b) if b.value)
                });
                pins || match call.func.as_ref() {
                    Expr::Attribute(attr) => attr.attr.as_str() == "pin_memory" || self.is_pinned(&attr.value),
                    _ => false,
                }
            }
            Expr::Name(name) => self.pinned.contains(name.id.as_str()),
            Expr::Attribute(attr) => {
                matches!(attr.value.as_ref(), Expr::Name(base) if base.id.as_str() == "self")
                    && self
                        .current_class()
                        .is_some_and(|c| c.pinned.contains(attr.attr.as_str()))
            }
            Expr::Subscript(subscript) => self.is_pinned(&subscript.value),
            _ => false,
        }
    }

    /// Whether `expr` is a boolean mask by its shape: a comparison (other than
    /// `is`/`in`), `~`/`&`/`|`/`^` of one, or a name bound to one.
    pub(super) fn is_syntactic_mask(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Compare(compare) => compare.ops.iter().all(|op| {
                !matches!(
                    op,
                    ast::CmpOp::Is | ast::CmpOp::IsNot | ast::CmpOp::In | ast::CmpOp::NotIn
                )
            }),
            Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::Invert => self.is_syntactic_mask(&unary.operand),
            Expr::BinOp(bin_op)
                if matches!(
                    bin_op.op,
                    ast::Operator::BitAnd | ast::Operator::BitOr | ast::Operator::BitXor
                ) =>
            {
                self.is_syntactic_mask(&bin_op.left) || self.is_syntactic_mask(&bin_op.right)
            }
            Expr::Name(name) => self.masks.contains(name.id.as_str()),
            _ => false,
        }
    }

    /// Whether `expr` is an integer index or a slice by its shape: the result
    /// of `nms`, `batched_nms`, `argsort`, `argmax`, `argmin`, `topk(..).indices`,
    /// `torch.where(m)[0]`, `nonzero(..)[..]`, `slice(..)`, or a name bound to one.
    /// Indexing with one gathers on the device without syncing.
    pub(super) fn is_integer_index(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => {
                let name = match call.func.as_ref() {
                    Expr::Name(name) => name.id.as_str(),
                    Expr::Attribute(attr) => attr.attr.as_str(),
                    _ => return false,
                };
                // `argmax()` with no dimension is 0-d: indexing with it reads it as an int.
                let reduces_all = matches!(name, "argmax" | "argmin")
                    && call.arguments.args.is_empty()
                    && call.arguments.keywords.is_empty();
                (matches!(
                    name,
                    "nms" | "batched_nms" | "argsort" | "argmax" | "argmin" | "slice" | "arange" | "randperm"
                ) && !reduces_all)
                    || (name == "long"
                        && matches!(call.func.as_ref(), Expr::Attribute(attr) if self.is_integer_index(&attr.value)))
            }
            Expr::Attribute(attr) => attr.attr.as_str() == "indices",
            Expr::Subscript(subscript) => match subscript.value.as_ref() {
                Expr::Call(call) => match call.func.as_ref() {
                    Expr::Name(name) => matches!(name.id.as_str(), "where" | "nonzero" | "topk" | "sort"),
                    Expr::Attribute(attr) => matches!(attr.attr.as_str(), "where" | "nonzero" | "topk" | "sort"),
                    _ => false,
                },
                _ => self.is_integer_index(&subscript.value),
            },
            Expr::Name(name) => self.indices.contains(name.id.as_str()),
            _ => false,
        }
    }

    /// Remembers whether an assignment target now holds a mask or an integer index.
    fn track_index(&mut self, target: &Expr, value: &Expr) {
        if let Expr::Name(name) = target {
            let name = name.id.as_str();
            let (mask, index) = (self.is_syntactic_mask(value), self.is_integer_index(value));
            for (set, on) in [(&mut self.masks, mask), (&mut self.indices, index)] {
                if on {
                    set.insert(name.to_string());
                } else {
                    set.remove(name);
                }
            }
        }
    }

    /// Whether `expr` is an AMP `GradScaler`: `torch.amp.GradScaler(..)`, or a name or `self` attribute bound to one.
    pub(super) fn is_grad_scaler(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => name_of(&call.func) == Some("GradScaler"),
            Expr::Name(name) => self.grad_scalers.contains(name.id.as_str()),
            Expr::Attribute(_) => self_attribute(expr)
                .is_some_and(|attr| self.current_class().is_some_and(|c| c.grad_scalers.contains(attr))),
            _ => false,
        }
    }

    /// Remembers whether an assignment target now holds an AMP `GradScaler`.
    fn track_grad_scaler(&mut self, target: &Expr, value: &Expr) {
        let scaler = self.is_grad_scaler(value);
        if let Expr::Name(name) = target {
            if scaler {
                self.grad_scalers.insert(name.id.to_string());
            } else {
                self.grad_scalers.remove(name.id.as_str());
            }
        } else if let (Some(attr), true) = (self_attribute(target), scaler) {
            let attr = attr.to_string();
            if let Some(class) = self.classes.last_mut() {
                class.grad_scalers.insert(attr);
            }
        }
    }

    /// Remembers whether an assignment target now holds pinned memory (and a mask, an index or a `GradScaler`).
    pub(super) fn track_pinned(&mut self, target: &Expr, value: &Expr) {
        self.track_index(target, value);
        self.track_grad_scaler(target, value);
        let pinned = self.is_pinned(value);
        match target {
            Expr::Name(name) => {
                if pinned {
                    self.pinned.insert(name.id.to_string());
                } else {
                    self.pinned.remove(name.id.as_str());
                }
            }
            Expr::Attribute(attr) if pinned => {
                if matches!(attr.value.as_ref(), Expr::Name(base) if base.id.as_str() == "self") {
                    if let Some(class) = self.classes.last_mut() {
                        class.pinned.insert(attr.attr.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}
