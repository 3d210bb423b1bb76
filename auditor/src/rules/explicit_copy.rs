//! D2H001 explicit-copy: a tensor's data copied to the host on purpose.
//! Python: `.cpu()`, `.to("cpu")`, `.numpy()`, `.tolist()`, `np.asarray(t)`.
//! Rust: candle's `to_vec1/2/3`, `to_cpu_storage`, `to_device(&Device::Cpu)`,
//! burn's `into_data`, cudarc's device-to-host copies, `Vec::try_from(t)`,
//! `t.try_into()` into host data.

use d2h_rules::RuleId;
use ruff_text_size::TextRange;

use crate::facts::Recorder;
use crate::model::{Certainty, Ty};
use crate::python::typed::{FunctionCall, MethodCall};
use crate::rust::typed as rs;

const RULE: RuleId = RuleId::ExplicitCopy;

const MOVES_MODULE: &str = "moves a module's parameters";

/// numpy's constructors that copy a tensor they are given.
const NUMPY_CONVERSIONS: &[&str] = &[
    "numpy.asarray",
    "numpy.array",
    "numpy.asanyarray",
    "numpy.ascontiguousarray",
];

pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    let loc = cx.loc(call.site);
    if call.moves_to_host {
        match call.receiver {
            Ty::Module => cx.module_site(RULE, loc, MOVES_MODULE),
            Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice => {}
            _ => cx.site(RULE, loc, Certainty::Known, None),
        }
        return;
    }
    match call.method {
        "numpy" if matches!(call.receiver, Ty::Tensor { .. } | Ty::Unknown(_)) => {
            cx.site(RULE, loc, Certainty::Known, None);
        }
        "tolist" => cx.site_ambiguous(RULE, loc, call.receiver, ".tolist()"),
        _ => {}
    }
}

/// Whether `qualified` is one of numpy's constructors that copy a tensor (`numpy.asarray`).
pub(crate) fn is_numpy_conversion(qualified: &str) -> bool {
    NUMPY_CONVERSIONS.contains(&qualified)
}

/// `np.asarray(t)` and numpy's other copying constructors.
pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    if call.qualified == "torch.save" {
        return torch_save(cx, call);
    }
    if !is_numpy_conversion(call.qualified) {
        return;
    }
    if let Some(ty) = call.args.first() {
        let note = Some(format!("`np.{}` of a tensor", call.last()));
        cx.site_if_tensor(RULE, cx.loc(call.site), ty, note);
    }
}

/// `torch.save(obj, path)` copies every device tensor in `obj` to the host to write it.
fn torch_save(cx: &mut Recorder, call: &FunctionCall) {
    let Some(ty) = call.args.first() else { return };
    let loc = cx.loc(call.site);
    let note = "`torch.save` copies each device tensor it is given to the host";
    match ty {
        Ty::Tensor { .. } => cx.site(RULE, loc, Certainty::Known, Some(note.to_string())),
        Ty::HostTensor | Ty::HostSeq | Ty::CpuDevice => {}
        // A state dict, a checkpoint dict, a module: it holds device tensors when the model is on the device.
        _ => {
            let doubt = "whether what it saves holds device tensors is not known".to_string();
            cx.site(RULE, loc, Certainty::Uncertain(doubt), Some(note.to_string()));
        }
    }
}

/// `host[index]` with a device tensor as the (non-mask) index: torch copies the
/// index to the host before it can gather (`alphas_cumprod[t]`, `t` on the device).
/// A device mask indexing a host tensor is D2H003's.
pub(crate) fn python_subscript(cx: &mut Recorder, base: &Ty, index_ty: &Ty, range: TextRange) {
    if *base == Ty::HostTensor && matches!(index_ty, Ty::Tensor { mask: false, .. }) {
        let note = "a device tensor indexing a host tensor is copied to the host first";
        cx.site(RULE, cx.loc(range), Certainty::Known, Some(note.to_string()));
    }
}

pub(crate) fn rust_method_call(cx: &mut Recorder, call: &rs::MethodCall) {
    let nargs = call.args.len();
    let recv = call.receiver;
    if rs::has(rs::apis::CUDARC_COPIES, call.method, nargs) {
        cx.site(RULE, call.site, Certainty::Known, None);
    } else if rs::has(rs::apis::CANDLE_COPIES, call.method, nargs) {
        if call.reads_data() {
            cx.site(RULE, call.site, Certainty::Known, None);
        }
    } else if call.moves_to_host {
        match &recv.ty {
            Ty::Module => cx.module_site(RULE, call.site, MOVES_MODULE),
            Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice => {}
            _ => cx.site(RULE, call.site, Certainty::Known, None),
        }
    } else if rs::apis::contains(rs::apis::BURN_COPIES, call.method) && nargs == 0 {
        cx.site_if_tensor(RULE, call.site, recv, None);
    } else if call.method == "try_into" && nargs == 0 && recv.is_tensor() && !call.expect_scalar {
        let note = Some("`try_into` of a tensor into host data".to_string());
        cx.site(RULE, call.site, Certainty::Known, note);
    }
}

/// `Vec::try_from(t)`, `Vec::from(t)`.
pub(crate) fn rust_path_call(cx: &mut Recorder, call: &rs::PathCall) {
    if call.owner == "Vec" && call.is_conversion() {
        let note = Some(format!("`Vec::{}` of a tensor", call.last));
        cx.site_if_tensor(RULE, call.site, &call.first(), note);
    }
}
