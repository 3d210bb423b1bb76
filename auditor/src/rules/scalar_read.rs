//! D2H002 scalar-read: a device value read into a host scalar, often
//! implicitly. Python: `.item()`, `float(t)`, `if t:`, `lst[t]`, `range(t)`,
//! `math.f(t)`, `torch.equal`, a device value assigned to one element.
//! Rust: candle's `to_scalar`/`to_vec0`, tch's `double_value`, burn's
//! `into_scalar`, `f64::try_from(t)`, `t.try_into()` into a scalar.

use d2h_rules::RuleId;
use ruff_text_size::TextRange;

use crate::facts::Recorder;
use crate::model::{Certainty, Ty};
use crate::python::apis;
use crate::python::typed::{FunctionCall, MethodCall};
use crate::rust::typed as rs;

const RULE: RuleId = RuleId::ScalarRead;

pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    let loc = cx.loc(call.site);
    if call.method == "item" {
        cx.site_ambiguous(RULE, loc, call.receiver, ".item()");
    } else if call.method == "step" && call.receiver_grad_scaler {
        let note = "`GradScaler.step` reads whether the gradients overflowed (`found_inf`) before stepping";
        cx.site(RULE, loc, Certainty::Known, Some(note.to_string()));
    } else if apis::contains(apis::SCALAR_READ_METHODS, call.method) && call.receiver.is_tensor() {
        cx.site(RULE, loc, Certainty::Known, None);
    }
}

/// `float(t)`, `range(t)`, `max(t)`: builtins that read a tensor's value.
pub(crate) fn python_builtin_call(cx: &mut Recorder, call: &FunctionCall) {
    let name = call.qualified;
    let positional = &call.args.positional;
    let (receiver, note) = if apis::contains(apis::SCALAR_BUILTINS, name) {
        let note = if name == "range" {
            "tensor used as a `range()` bound (`__index__`)".to_string()
        } else {
            format!("`{name}()` of a tensor")
        };
        (positional.first(), note)
    } else if apis::contains(apis::ITERATING_BUILTINS, name) {
        let receiver = positional.iter().find(|(t, _)| t.is_tensor()).or(positional.first());
        (receiver, format!("Python `{name}()` over a tensor"))
    } else {
        return;
    };
    if let Some((ty, _)) = receiver {
        cx.site_if_tensor(RULE, cx.loc(call.site), ty, Some(note));
    }
}

/// `math.sqrt(t)`; `torch.equal(a, b)` and the other torch functions that return a Python value.
pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    let loc = cx.loc(call.site);
    match call.root() {
        "math" => {
            if let Some(ty) = call.args.first() {
                let note = Some(format!("`{}` of a tensor", call.qualified));
                cx.site_if_tensor(RULE, loc, ty, note);
            }
        }
        "torch"
            if !super::is_torch_device_namespace(call.qualified)
                && apis::contains(apis::SCALAR_READ_FUNCTIONS, call.last())
                && !call.args.all_host() =>
        {
            let note = Some(format!("`{}` returns a Python bool", call.qualified));
            cx.site(RULE, loc, Certainty::Known, note);
        }
        // Only a tensor condition is read back: `torch._assert(len(s) == 2, ..)` checks a bool.
        "torch" if apis::contains(apis::CHECK_FUNCTIONS, call.last()) => {
            // `_check_tensor_all_with(error_type, cond, msg)` takes its condition second.
            let position = usize::from(call.last() == "_check_tensor_all_with");
            let condition = call
                .args
                .keyword("cond")
                .map(|(_, ty, _)| ty)
                .or_else(|| call.args.positional.get(position).map(|(ty, _)| ty));
            if let Some(condition) = condition {
                let note = Some(format!(
                    "`{}` reads its condition on the host to decide whether to raise",
                    call.qualified
                ));
                cx.site_if_tensor(RULE, loc, condition, note);
            }
        }
        _ => {}
    }
}

/// `if t:`, `while t:`, `assert t`, `a and b`: a tensor used as a condition.
pub(crate) fn python_condition(cx: &mut Recorder, range: TextRange, ty: &Ty) {
    cx.site_if_tensor(RULE, cx.loc(range), ty, Some("tensor used as a condition".into()));
}

/// A tensor used where Python needs an int (`lst[t]`, `x[:n]`): `what` says where.
pub(crate) fn python_index(cx: &mut Recorder, range: TextRange, ty: &Ty, what: &str) {
    cx.site_if_tensor(RULE, cx.loc(range), ty, Some(format!("tensor {what}")));
}

pub(crate) fn rust_method_call(cx: &mut Recorder, call: &rs::MethodCall) {
    let nargs = call.args.len();
    let method = call.method;
    let recv = call.receiver;
    if rs::has(rs::apis::CANDLE_SCALAR_READS, method, nargs)
        || (rs::apis::contains(rs::apis::TCH_SCALAR_READS, method) && nargs <= 1)
    {
        if call.reads_data() {
            cx.site(RULE, call.site, Certainty::Known, None);
        }
    } else if rs::apis::contains(rs::apis::BURN_SCALAR_READS, method) && nargs == 0 {
        cx.site_if_tensor(RULE, call.site, recv, None);
    } else if method == "try_into" && nargs == 0 && recv.is_tensor() && call.expect_scalar {
        let note = Some("`try_into` of a tensor into a scalar".to_string());
        cx.site(RULE, call.site, Certainty::Known, note);
    }
}

/// `f64::try_from(t)`, `f32::from(t)`.
pub(crate) fn rust_path_call(cx: &mut Recorder, call: &rs::PathCall) {
    if rs::apis::contains(rs::apis::SCALAR_TYPES, call.owner) && call.is_conversion() {
        let note = Some(format!("`{}::{}` of a tensor", call.owner, call.last));
        cx.site_if_tensor(RULE, call.site, &call.first(), note);
    }
}
