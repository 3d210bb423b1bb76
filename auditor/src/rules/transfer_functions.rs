//! The project's own transfer helpers (configuration key
//! `transfer-functions`): each call of one is a site of the rule the
//! configuration gives it, judged by the caller's context as a call of the
//! library API it wraps would be. Not one rule's detection: the rule comes
//! from the configuration.

use crate::facts::{Loc, Recorder};
use crate::model::Certainty;

/// A call of the function named `qualified` (`utils.to_numpy`,
/// `transfer::Gate::to_vec2`) at `loc`: a site if the configuration names it.
pub(crate) fn call(cx: &mut Recorder, qualified: &str, loc: Loc) {
    let Some(entry) = cx.policy().transfer_function(qualified) else {
        return;
    };
    let (rule, note) = (
        entry.rule,
        format!("calls `{}`, a transfer function of the configuration", entry.name),
    );
    cx.site(rule, loc, Certainty::Known, Some(note));
}
