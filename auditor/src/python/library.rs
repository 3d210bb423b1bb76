//! What calls of builtins and library functions return (`float(t)` a host
//! value, `torch.nonzero(x)` a tensor, `torch.zeros(n)` a host tensor without
//! `device=`), and which names are library functions at all (`None`: it may be
//! a project function).

use ruff_python_ast::Expr;

use super::apis::{self, contains};
use super::typed::{Args, Device, FunctionCall};
use crate::model::Ty;

/// What a Python builtin returns; `None` when `name` is not one d2h knows.
pub(super) fn builtin_type(name: &str, args: &Args) -> Option<Ty> {
    if contains(apis::SCALAR_BUILTINS, name) {
        return Some(if name == "range" { Ty::HostSeq } else { Ty::Host });
    }
    if contains(apis::ITERATING_BUILTINS, name) {
        return Some(if name == "sorted" { Ty::HostSeq } else { Ty::Host });
    }
    match name {
        _ if contains(apis::FORMAT_BUILTINS, name) => Some(Ty::Host),
        "print" => Some(Ty::Host),
        "abs" => Some(args.first().cloned().unwrap_or(Ty::Host)),
        "list" | "tuple" => Some(Ty::HostSeq),
        "super" | "getattr" | "next" | "iter" | "map" | "filter" | "enumerate" | "zip" | "reversed" => {
            Some(Ty::UNKNOWN)
        }
        _ if contains(apis::HOST_BUILTINS, name) => Some(Ty::Host),
        _ => None,
    }
}

/// What a call of an imported library function returns; `None` when the name may be a project function.
pub(super) fn library_type(call: &FunctionCall) -> Option<Ty> {
    let (qualified, root, last) = (call.qualified, call.root(), call.last());
    if root == "torch" {
        return Some(torch_type(call));
    }
    if root == "torchvision" {
        if matches!(last, "nms" | "batched_nms") {
            return Some(Ty::TENSOR);
        }
        // `torchvision.ops.*` compute on tensors; the rest (`get_dimensions`, transforms) may not.
        let is_op = qualified.starts_with("torchvision.ops.") && !apis::is_class_name(last);
        return Some(if is_op { Ty::TENSOR } else { Ty::UNKNOWN });
    }
    if contains(apis::HOST_LIBRARIES, root) || root == "math" {
        return Some(Ty::Host);
    }
    if root == "logging" && contains(apis::LOGGER_METHODS, last) {
        return Some(Ty::Host);
    }
    if matches!(
        root,
        "os" | "sys"
            | "time"
            | "json"
            | "re"
            | "random"
            | "collections"
            | "itertools"
            | "functools"
            | "typing"
            | "pathlib"
            | "warnings"
            | "copy"
            | "dataclasses"
            | "enum"
            | "abc"
    ) {
        return Some(Ty::Host);
    }
    None
}

/// What a call of a torch function returns.
fn torch_type(call: &FunctionCall) -> Ty {
    let (qualified, last, args) = (call.qualified, call.last(), call.args);
    match qualified {
        "torch.cuda.synchronize"
        | "torch.cuda.empty_cache"
        | "torch.distributed.barrier"
        | "torch.cuda.ipc_collect" => {
            return Ty::Host;
        }
        "torch.device" => {
            let is_cpu = call
                .call
                .arguments
                .args
                .first()
                .is_some_and(|a| matches!(a, Expr::StringLiteral(s) if s.value.to_str().starts_with("cpu")));
            return if is_cpu { Ty::CpuDevice } else { Ty::Host };
        }
        "torch.where" if args.positional.len() == 1 && args.keywords.is_empty() => return Ty::TENSOR,
        "torch.repeat_interleave" => return Ty::TENSOR,
        _ => {}
    }
    if qualified.starts_with("torch.distributed.") && last == "barrier" {
        return Ty::Host;
    }
    // Settings, version strings, data loading, export and tooling: no device data.
    const HOST_MODULES: &[&str] = &[
        "torch.cuda.",
        "torch.backends.",
        "torch.version.",
        "torch.hub.",
        "torch.onnx.",
        "torch.profiler.",
        "torch.multiprocessing.",
        "torch._dynamo.",
        "torch.utils.data.",
        "torch.utils.tensorboard.",
    ];
    if HOST_MODULES.iter().any(|m| qualified.starts_with(m)) {
        return Ty::Host;
    }
    if qualified.starts_with("torch.nn.") && !qualified.starts_with("torch.nn.functional.") && apis::is_class_name(last)
    {
        return Ty::Module;
    }
    if contains(apis::DATA_DEPENDENT_OPS, last) {
        return Ty::TENSOR;
    }
    if contains(apis::SCALAR_READ_FUNCTIONS, last) {
        return Ty::Host;
    }
    if contains(apis::CREATION_FUNCTIONS, last) || last.ends_with("_like") {
        return created_tensor(call);
    }
    if ["is_", "are_", "has_", "get_", "set_", "_"]
        .iter()
        .any(|prefix| last.starts_with(prefix))
    {
        return Ty::Host;
    }
    // A torch function given nothing computes on no tensor: a query of settings
    // (`torch.initial_seed()`), not device data.
    if args.positional.is_empty() && args.keywords.is_empty() {
        return Ty::Host;
    }
    if matches!(
        last,
        "is_tensor"
            | "numel"
            | "is_floating_point"
            | "no_grad"
            | "inference_mode"
            | "enable_grad"
            | "autocast"
            | "manual_seed"
            | "save"
            | "load"
            | "get_default_dtype"
            | "set_grad_enabled"
            | "is_grad_enabled"
    ) {
        return Ty::Host;
    }
    if qualified == "torch.compile" || qualified.starts_with("torch.jit.") {
        return Ty::Module;
    }
    if args.all_host() {
        return Ty::HostTensor;
    }
    let mask = contains(apis::MASK_FUNCTIONS, last);
    let scalar = contains(apis::REDUCTIONS, last) && args.positional.len() == 1 && args.keywords.is_empty();
    Ty::Tensor {
        mask: mask || (matches!(last, "any" | "all")),
        scalar,
    }
}

/// `torch.zeros(..., device=dev)` is a device tensor; without `device=`, a host one.
fn created_tensor(call: &FunctionCall) -> Ty {
    let (last, args) = (call.last(), call.args);
    if last.ends_with("_like") && !args.has_keyword("device") {
        return match args.first() {
            Some(Ty::HostTensor) => Ty::HostTensor,
            _ => Ty::TENSOR,
        };
    }
    if last == "from_numpy" {
        return Ty::HostTensor;
    }
    // `torch.as_tensor(t)` without `device=` keeps a tensor where it is.
    if matches!(last, "as_tensor" | "asarray" | "tensor") && call.device == Device::Absent {
        if let Some(first @ Ty::Tensor { .. }) = args.first() {
            return first.clone();
        }
    }
    match call.device {
        Device::Absent | Device::Cpu => Ty::HostTensor,
        Device::Accelerator => Ty::TENSOR,
    }
}
