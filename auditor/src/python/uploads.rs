//! Blocking uploads (D2H007): host data copied to the device synchronously,
//! and device tensors indexed with host indices.

use d2h_rules::RuleId;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::analyzer::Analyzer;
use crate::model::{Certainty, Ty};

/// Creation functions that copy their `data` argument (the others only allocate).
const COPYING_CREATIONS: &[&str] = &["tensor", "as_tensor", "asarray"];

impl Analyzer<'_> {
    /// `.to(dev)` / `.cuda()` of a host tensor: an upload unless it is pinned and non-blocking.
    pub(super) fn upload_by_move(&mut self, call: &ast::ExprCall, receiver_expr: &Expr, receiver: &Ty) {
        if *receiver != Ty::HostTensor {
            return;
        }
        let non_blocking = call.arguments.keywords.iter().any(|k| {
            k.arg.as_ref().is_some_and(|a| a.as_str() == "non_blocking")
                && matches!(&k.value, Expr::BooleanLiteral(b) if b.value)
        });
        let note = match (non_blocking, self.is_pinned(receiver_expr)) {
            (true, true) => return,
            (true, false) => "`non_blocking=True` from pageable memory is synchronous",
            (false, _) => "uploads a host tensor synchronously",
        };
        self.site(
            RuleId::BlockingUpload,
            call.range(),
            Certainty::Known,
            Some(note.to_string()),
        );
    }

    /// `torch.tensor(data, device=dev)` / `torch.as_tensor(x, device=dev)` of host data.
    pub(super) fn upload_by_creation(&mut self, function: &str, data: Option<&Ty>, range: TextRange) {
        if !COPYING_CREATIONS.contains(&function) || data.is_some_and(Ty::is_tensor) {
            return;
        }
        let note = format!("`torch.{function}(..., device=...)` copies host data");
        self.site(RuleId::BlockingUpload, range, Certainty::Known, Some(note));
    }

    /// A device tensor indexed with a host tensor or a Python list uploads the index.
    pub(super) fn upload_by_index(&mut self, index: &Expr, index_ty: &Ty, range: TextRange) {
        let host_index = match index_ty {
            Ty::HostTensor => true,
            Ty::HostSeq => matches!(index, Expr::List(_) | Expr::ListComp(_) | Expr::Name(_)),
            _ => false,
        };
        if host_index {
            let note = Some("a host index is uploaded before the device can gather".to_string());
            self.site(RuleId::BlockingUpload, range, Certainty::Known, note);
        }
    }

    /// `t[i] = value` with integer indices only: writing one element of a device
    /// tensor copies the value through the host (measured on an H100 with torch's
    /// sync debug mode; slice assignments such as `t[:, 0] = 2.0` are fills and do not).
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
        let (rule, note) = if value.is_tensor() {
            (
                RuleId::ScalarRead,
                "a device value assigned to one element by integer index is read on the host",
            )
        } else {
            (
                RuleId::BlockingUpload,
                "a Python value assigned to one element by integer index is copied to the device",
            )
        };
        self.site(rule, subscript.range(), Certainty::Known, Some(note.to_string()));
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

    /// Remembers whether an assignment target now holds pinned memory.
    pub(super) fn track_pinned(&mut self, target: &Expr, value: &Expr) {
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
