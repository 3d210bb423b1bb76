//! D2H003 data-dependent-shape: an operation whose output size depends on the
//! data, so the host must read it before it can allocate the result:
//! `nonzero`, `unique`, `masked_select`, boolean-mask indexing, one-argument
//! `torch.where`, `repeat_interleave` with tensor repeats, torchvision's `nms`.
//! (Python only: the Rust libraries' equivalents are not modelled yet.)

use d2h_rules::RuleId;
use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};

use crate::facts::Recorder;
use crate::model::{Certainty, Ty};
use crate::python::apis;
use crate::python::typed::{FunctionCall, MethodCall};

const RULE: RuleId = RuleId::DataDependentShape;

const REPEAT_INTERLEAVE: &str = "`repeat_interleave` with tensor repeats and no `output_size`";

pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    let method = call.method;
    let loc = cx.loc(call.call.range());
    if apis::contains(apis::DATA_DEPENDENT_OPS, method) {
        let note = Some(format!("`.{method}()` has a data-dependent output size"));
        match call.receiver {
            Ty::Tensor { .. } => cx.site(RULE, loc, Certainty::Known, note),
            Ty::Unknown(_) => cx.site_ambiguous(RULE, loc, call.receiver, method),
            _ => {}
        }
    } else if method == "repeat_interleave"
        && !call.args.has_keyword("output_size")
        && call.args.first().is_some_and(Ty::is_tensor)
        && matches!(call.receiver, Ty::Tensor { .. } | Ty::Unknown(_))
    {
        cx.site(RULE, loc, Certainty::Known, Some(REPEAT_INTERLEAVE.to_string()));
    }
}

pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    let (qualified, last, args) = (call.qualified, call.last(), call.args);
    let note = match call.root() {
        "torchvision" if matches!(last, "nms" | "batched_nms") => {
            format!("`{last}` returns a data-dependent number of boxes")
        }
        // The registered operator itself (what `torchvision.ops.nms` calls).
        "torch" if qualified.starts_with("torch.ops.torchvision.") && matches!(last, "nms" | "batched_nms") => {
            format!("`{last}` returns a data-dependent number of boxes")
        }
        // Without `num_classes`, `one_hot` reads the largest label to size its output.
        "torch"
            if qualified == "torch.nn.functional.one_hot"
                && args.positional.len() == 1
                && !args.has_keyword("num_classes")
                && !args.all_host() =>
        {
            "`one_hot` without `num_classes` reads the largest label".to_string()
        }
        "torch" if qualified == "torch.where" => {
            if args.positional.len() != 1 || !args.keywords.is_empty() {
                return;
            }
            "one-argument `torch.where` is `nonzero`".to_string()
        }
        "torch" if qualified == "torch.repeat_interleave" => {
            let repeats = if args.positional.len() == 1 {
                args.first()
            } else {
                args.positional.get(1).map(|(t, _)| t)
            };
            let tensor_repeats = args.positional.len() == 1 || repeats.is_some_and(Ty::is_tensor);
            if !tensor_repeats || args.has_keyword("output_size") {
                return;
            }
            REPEAT_INTERLEAVE.to_string()
        }
        "torch"
            if !super::is_torch_device_namespace(qualified)
                && apis::contains(apis::DATA_DEPENDENT_OPS, last)
                && !args.all_host() =>
        {
            format!("`{qualified}` has a data-dependent output size")
        }
        _ => return,
    };
    cx.site(RULE, cx.loc(call.site), Certainty::Known, Some(note));
}

/// What an index is by its shape, whatever its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexShape {
    /// A comparison, a logical combination of one, or a name bound to one.
    Mask,
    /// The result of `nms`, `argsort`, `topk(..).indices`, `torch.where(m)[0]`,
    /// a `slice(..)`: indexing with it gathers on the device without syncing.
    Integer,
    Other,
}

/// `x[mask]` of a device tensor `x`: `index` of type `index_ty` is one of its indices.
/// A comparison used as the index of a value of unknown type is a `possible` site.
pub(crate) fn python_subscript(
    cx: &mut Recorder,
    base: &Ty,
    index: &Expr,
    index_ty: &Ty,
    shape: IndexShape,
    range: TextRange,
) {
    if shape == IndexShape::Integer {
        return;
    }
    let mask = is_mask_index(index, index_ty) || shape == IndexShape::Mask;
    if !mask {
        return;
    }
    let loc = cx.loc(range);
    match base {
        Ty::Tensor { .. } => cx.site(RULE, loc, Certainty::Known, Some("boolean-mask indexing".into())),
        Ty::HostTensor if index_ty.is_mask() => {
            let note = "boolean-mask indexing of a host tensor by a device mask: the mask is copied to the host";
            cx.site(RULE, loc, Certainty::Known, Some(note.into()));
        }
        Ty::Unknown(origin) if shape == IndexShape::Mask || index_ty.is_mask() => {
            let note = "boolean-mask indexing; the receiver's type is not known (numpy arrays index the same way)";
            let certainty = match origin {
                Some(origin) => Certainty::Pending {
                    origin: origin.clone(),
                    fallback: Some(note.to_string()),
                },
                None => Certainty::Uncertain(note.to_string()),
            };
            cx.site(RULE, loc, certainty, Some("boolean-mask indexing".into()));
        }
        _ => {}
    }
}

/// A boolean tensor, or a tensor-ish name that says it is a mask.
pub(crate) fn is_mask_index(index: &Expr, ty: &Ty) -> bool {
    if ty.is_mask() {
        return true;
    }
    let named_mask = match index {
        Expr::Name(name) => is_mask_name(name.id.as_str()),
        Expr::Attribute(attr) => is_mask_name(attr.attr.as_str()),
        _ => false,
    };
    named_mask && matches!(ty, Ty::Tensor { .. } | Ty::Unknown(_))
}

fn is_mask_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("mask") || matches!(lower.as_str(), "keep" | "valid" | "selected" | "sel")
}
