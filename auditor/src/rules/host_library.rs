//! D2H006 host-library: a tensor handed to a library that computes on the
//! host (`scipy`, `cv2`, `PIL`, `sklearn`, numpy functions), which converts
//! it first. (Python only.)

use d2h_rules::RuleId;

use crate::facts::Recorder;
use crate::model::Ty;
use crate::python::apis;
use crate::python::typed::FunctionCall;

const RULE: RuleId = RuleId::HostLibrary;

/// A call of a host library with a tensor argument (numpy's copying
/// constructors are D2H001's, see [`super::explicit_copy`]).
pub(crate) fn python_library_call(cx: &mut Recorder, call: &FunctionCall) {
    if !apis::contains(apis::HOST_LIBRARIES, call.root()) || super::explicit_copy::is_numpy_conversion(call.qualified) {
        return;
    }
    let args = call.args;
    let tensor = args
        .all()
        .find(|(t, _)| t.is_tensor())
        .or_else(|| args.all().find(|(t, _)| matches!(t, Ty::Unknown(Some(_)))));
    if let Some((ty, _)) = tensor {
        let note = Some(format!("tensor handed to `{}`", call.qualified));
        cx.site_if_tensor(RULE, cx.loc(call.site), ty, note);
    }
}
