//! D2H004 explicit-sync: the host waits for the device on purpose.
//! Python: `torch.cuda.synchronize()`, `stream.synchronize()`,
//! `torch.cuda.empty_cache()`, `torch.distributed.barrier()`.
//! Rust: `device.synchronize()`, `Cuda::synchronize(..)`.
//! (A project function that calls one of these is a sync wrapper: see
//! [`crate::project`], which reports its calls.)

use d2h_rules::RuleId;

use crate::facts::Recorder;
use crate::model::Certainty;
use crate::python::typed::{FunctionCall, MethodCall};
use crate::rust::typed as rs;

const RULE: RuleId = RuleId::ExplicitSync;

/// torch functions that wait for the device.
const TORCH_SYNCS: &[&str] = &[
    "torch.cuda.synchronize",
    "torch.cuda.empty_cache",
    "torch.distributed.barrier",
    "torch.cuda.ipc_collect",
];

pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    if call.method == "synchronize" {
        cx.site(RULE, cx.loc(call.site), Certainty::Known, None);
    }
}

pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    let qualified = call.qualified;
    let barrier = qualified.starts_with("torch.distributed.") && call.last() == "barrier";
    if TORCH_SYNCS.contains(&qualified) || barrier {
        cx.site(RULE, cx.loc(call.site), Certainty::Known, None);
    }
}

pub(crate) fn rust_method_call(cx: &mut Recorder, call: &rs::MethodCall) {
    if call.method == "synchronize" && call.args.is_empty() {
        cx.site(RULE, call.site, Certainty::Known, None);
    }
}

/// `Cuda::synchronize(..)`, `Device::synchronize(..)`.
pub(crate) fn rust_path_call(cx: &mut Recorder, call: &rs::PathCall) {
    if call.last == "synchronize" && matches!(call.owner, "Cuda" | "Device" | "CudaDevice") {
        cx.site(RULE, call.site, Certainty::Known, None);
    }
}
