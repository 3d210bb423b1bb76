//! D2H005 host-format: a tensor formatted as text, which reads its values on
//! the host. Python: f-strings, `%`, `str.format`, `str()`/`repr()`,
//! `print`, logger calls. Rust: format macros (`println!`, `format!`,
//! `log::info!`, `dbg!`, `panic!`...), a struct whose derived `Debug` prints
//! tensors, tch's `t.print()`.

use d2h_rules::RuleId;
use ruff_python_ast::Expr;
use ruff_text_size::TextRange;

use crate::facts::{Loc, Recorder};
use crate::model::{Certainty, Ty};
use crate::python::apis;
use crate::python::name_of;
use crate::python::typed::{FunctionCall, MethodCall};
use crate::rust::typed as rs;
use crate::rust::Val;

const RULE: RuleId = RuleId::HostFormat;

/// A value formatted into text: `how` says how (`interpolated in an f-string`).
pub(crate) fn python_formatted(cx: &mut Recorder, range: TextRange, ty: &Ty, how: &str) {
    cx.site_if_tensor(RULE, cx.loc(range), ty, Some(format!("tensor {how}")));
}

/// `"{}".format(t)`, `logger.info("%s", t)`.
pub(crate) fn python_method_call(cx: &mut Recorder, call: &MethodCall) {
    let how = if call.method == "format" && matches!(call.receiver_expr, Expr::StringLiteral(_)) {
        "formatted with `str.format`"
    } else if apis::contains(apis::LOGGER_METHODS, call.method)
        && name_of(call.receiver_expr).is_some_and(|n| cx.policy().python.is_logger_name(n))
    {
        "passed to a logger"
    } else {
        return;
    };
    for (ty, range) in call.args.all() {
        python_formatted(cx, range, ty, how);
    }
}

/// `str(t)`, `repr(t)`, `print(t)`.
pub(crate) fn python_builtin_call(cx: &mut Recorder, call: &FunctionCall) {
    let name = call.qualified;
    if apis::contains(apis::FORMAT_BUILTINS, name) {
        if let Some((ty, _)) = call.args.positional.first() {
            python_formatted(cx, call.site, ty, &format!("formatted with `{name}()`"));
        }
    } else if name == "print" {
        for (ty, range) in &call.args.positional {
            python_formatted(cx, *range, ty, "printed");
        }
    }
}

/// `logging.info("%s", t)`.
pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    if call.root() == "logging" && apis::contains(apis::LOGGER_METHODS, call.last()) {
        for (ty, range) in call.args.all() {
            python_formatted(cx, range, ty, "passed to a logger");
        }
    }
}

/// tch's `t.print()`.
pub(crate) fn rust_method_call(cx: &mut Recorder, call: &rs::MethodCall) {
    if call.method == "print" && call.args.is_empty() && call.receiver.is_tensor() {
        let note = Some("tensor printed with `.print()`".to_string());
        cx.site(RULE, call.site, Certainty::Known, note);
    }
}

/// A value a format macro formats (`how`: "tensor formatted by `println!`"),
/// with `{:?}` when `debug`; `debug_prints_tensors`: the value's type derives
/// a `Debug` that prints tensor fields.
pub(crate) fn rust_formatted(
    cx: &mut Recorder,
    loc: Loc,
    val: &Val,
    debug: bool,
    debug_prints_tensors: bool,
    how: &str,
) {
    if let Some(of) = &val.of {
        if debug && debug_prints_tensors && !val.is_tensor() {
            let note = format!("`{{:?}}` of `{of}`, whose derived `Debug` prints its tensors");
            cx.site(RULE, loc, Certainty::Known, Some(note));
            return;
        }
    }
    cx.site_if_tensor(RULE, loc, val, Some(how.to_string()));
}
