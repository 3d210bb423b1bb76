//! D2H007 blocking-upload: host data copied to the device synchronously.
//! Python: `.to(dev)` / `.cuda()` of a host tensor (unless pinned and
//! `non_blocking=True`), `torch.tensor(data, device=dev)`, `t.new_tensor(..)`,
//! a device tensor indexed with a host index, a Python value assigned to one
//! element. Rust: candle's and burn's constructors that take host data and a
//! device (`Tensor::new(&v, &dev)`, `from_vec`, `from_data`), a host tensor
//! moved to a device, cudarc's host-to-device copies. Creating on the device
//! without host data (`zeros`, `arange`) is not an upload, nor is anything
//! made on the CPU.

use d2h_rules::RuleId;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use crate::facts::Recorder;
use crate::model::{Certainty, Ty};
use crate::python::typed::{Device, FunctionCall, MethodCall};
use crate::rust::typed as rs;

const RULE: RuleId = RuleId::BlockingUpload;

/// torch creation functions that copy their `data` argument (the others only allocate).
const PYTHON_COPYING_CREATIONS: &[&str] = &["tensor", "as_tensor", "asarray"];

pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    match call.method {
        "to" if !call.moves_to_host && !call.dtype_only && !call.args.is_empty() => python_move(cx, call),
        "cuda" => python_move(cx, call),
        "new_tensor" if call.receiver.is_tensor() => {
            let note = Some("`new_tensor` copies host data to the receiver's device".to_string());
            cx.site(RULE, cx.loc(call.site), Certainty::Known, note);
        }
        _ => {}
    }
}

/// `.to(dev)` / `.cuda()` of a host tensor: an upload unless it is pinned and non-blocking.
fn python_move(cx: &mut Recorder, call: &MethodCall) {
    if *call.receiver != Ty::HostTensor {
        return;
    }
    let non_blocking = call.call.arguments.keywords.iter().any(|k| {
        k.arg.as_ref().is_some_and(|a| a.as_str() == "non_blocking")
            && matches!(&k.value, Expr::BooleanLiteral(b) if b.value)
    });
    let note = match (non_blocking, call.receiver_pinned) {
        (true, true) => return,
        (true, false) => "`non_blocking=True` from pageable memory is synchronous",
        (false, _) => "uploads a host tensor synchronously",
    };
    cx.site(
        RULE,
        cx.loc(call.call.range()),
        Certainty::Known,
        Some(note.to_string()),
    );
}

/// `torch.tensor(data, device=dev)` / `torch.as_tensor(x, device=dev)` of host data.
pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    let function = call.last();
    if call.root() != "torch"
        || super::is_torch_device_namespace(call.qualified)
        || !PYTHON_COPYING_CREATIONS.contains(&function)
        || call.device != Device::Accelerator
        || call.args.first().is_some_and(Ty::is_tensor)
        || placed_on_its_own_device(call.call)
    {
        return;
    }
    let note = format!("`torch.{function}(..., device=...)` copies host data");
    cx.site(RULE, cx.loc(call.site), Certainty::Known, Some(note));
}

/// `torch.as_tensor(x, device=x.device)`: only a tensor has a `.device`, and it
/// stays where it is.
fn placed_on_its_own_device(call: &ast::ExprCall) -> bool {
    let Some(data) = call.arguments.args.first() else {
        return false;
    };
    call.arguments
        .keywords
        .iter()
        .filter(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "device"))
        .any(|k| matches!(&k.value, Expr::Attribute(attr) if attr.attr.as_str() == "device" && same_path(&attr.value, data)))
}

/// Whether two expressions are the same name or attribute path (`x`, `self.boxes`).
fn same_path(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Name(a), Expr::Name(b)) => a.id == b.id,
        (Expr::Attribute(a), Expr::Attribute(b)) => a.attr == b.attr && same_path(&a.value, &b.value),
        _ => false,
    }
}

/// A device tensor indexed with a host tensor or a Python list uploads the index.
/// (A mask index is never a host one: it is D2H003's, see [`super::data_dependent_shape`].)
pub(crate) fn python_subscript(cx: &mut Recorder, base: &Ty, index: &Expr, index_ty: &Ty, range: TextRange) {
    let host_index = match index_ty {
        Ty::HostTensor => true,
        Ty::HostSeq => matches!(index, Expr::List(_) | Expr::ListComp(_) | Expr::Name(_)),
        _ => false,
    };
    if base.is_tensor() && host_index {
        let note = Some("a host index is uploaded before the device can gather".to_string());
        cx.site(RULE, cx.loc(range), Certainty::Known, note);
    }
}

/// `t[i] = value` with integer indices of a device tensor, `value` a host value.
pub(crate) fn python_element_assignment(cx: &mut Recorder, range: TextRange, value: &Ty) {
    if !value.is_tensor() {
        let note = "a Python value assigned to one element by integer index is copied to the device";
        cx.site(RULE, cx.loc(range), Certainty::Known, Some(note.to_string()));
    }
}

pub(crate) fn rust_method_call(cx: &mut Recorder, call: &rs::MethodCall) {
    let (method, nargs, recv) = (call.method, call.args.len(), call.receiver);
    if rs::cudarc_upload(method, nargs, recv).is_some() {
        let note = format!("cudarc `{method}` copies host memory to the device");
        cx.site(RULE, call.call_loc, Certainty::Known, Some(note));
    } else if call.moves_to_device() && recv.ty == Ty::HostTensor && !call.is_dtype_cast() {
        let note = format!("`{method}` of a host tensor uploads it synchronously");
        cx.site(RULE, call.call_loc, Certainty::Known, Some(note));
    }
}

/// `Tensor::new(&data, &dev)` and the other constructors that copy host
/// data: an upload unless the device is the CPU (tch creates on the CPU).
pub(crate) fn rust_path_call(cx: &mut Recorder, call: &rs::PathCall) {
    let function = call.last;
    if call.owner != "Tensor"
        || !rs::apis::contains(rs::apis::CREATION_FUNCTIONS, function)
        || !rs::apis::contains(rs::apis::COPYING_CREATIONS, function)
        || call.tch_only
        || call.args.len() < 2
        || call.args.first().is_some_and(|v| v.is_tensor())
        || call.on_cpu
    {
        return;
    }
    let note = format!("`Tensor::{function}(.., device)` copies host data to the device");
    cx.site(RULE, call.call_loc, Certainty::Known, Some(note));
}
