//! Sites to findings: each site of a file (and each call of a sync helper or
//! a configured transfer function, which only the project pass sees) gets a
//! severity from its context and the reason for it, most decisive first,
//! and a confidence from what is known of its receiver. The two are apart:
//! severity is about how often a site runs on the work path, never about
//! doubt; doubt is the confidence (with a note on it after the reason).
//! A site critical because a hot chain reaches its function also says where
//! the work path enters that chain (`via`: the frame loop's or the root's
//! call), so the stall shows where it enters the loop while the transfer
//! stays one finding at its own line.

use std::sync::Arc;

use d2h_reports::{Finding, Fingerprinter, Via};
use d2h_rules::{Confidence, RuleId, Severity};

use rustc_hash::FxHashSet as HashSet;

use super::{EntryCall, Project};
use crate::model::{CallSite, Certainty, Context, Site};
use crate::policy::TransferFunction;
use crate::source::one_line;

/// How sure a site is to transfer, with a note on what is unknown.
type Doubt = (Confidence, Option<String>);

const CERTAIN: Doubt = (Confidence::Certain, None);

impl Project<'_> {
    /// The findings of one file, in source order, with severities and reasons.
    ///
    /// `load_text` reads the file's source again, for the code of call sites
    /// that only the project pass finds (calls of sync helpers).
    pub fn findings(&self, file_index: usize, load_text: &dyn Fn() -> Option<Arc<str>>) -> Vec<Finding> {
        let file = &self.files[file_index];
        let mut sites: Vec<(Site, Doubt)> = Vec::new();
        for site in &file.sites {
            let doubt = match &site.certainty {
                Certainty::Known => CERTAIN,
                Certainty::Uncertain(note) => (Confidence::Possible, Some(note.clone())),
                Certainty::Pending { origin, fallback } => {
                    // A tensor through the call graph (a parameter whose
                    // callers pass tensors, a callee's return): inferred.
                    let resolved = self.resolve_origin(file_index, origin, 0, &mut HashSet::default());
                    if resolved.is_tensor() {
                        (Confidence::Likely, None)
                    } else if let Some(note) = fallback {
                        (Confidence::Possible, Some(note.clone()))
                    } else {
                        continue;
                    }
                }
            };
            sites.push((site.clone(), doubt));
        }
        let mut text: Option<Option<Arc<str>>> = None;
        sites.extend(self.transfer_calls(file_index, &mut text, load_text));
        sites.extend(self.sync_wrapper_calls(file_index, &mut text, load_text));
        sites.sort_by_key(|(site, _)| (site.span, site.rule));
        sites.dedup_by(|a, b| a.0.span == b.0.span && a.0.rule == b.0.rule);

        let mut fingerprints = Fingerprinter::new();
        sites
            .into_iter()
            .map(|(site, (confidence, doubt))| {
                let symbol = site
                    .context
                    .function
                    .map_or_else(|| "<module>".to_string(), |f| file.functions[f].qualname.clone());
                let Verdict {
                    severity,
                    mut reason,
                    via,
                } = self.severity(file_index, &site);
                if let Some(doubt) = doubt {
                    reason = format!("{reason}; {doubt}");
                }
                let fingerprint = fingerprints.next(site.rule, &file.path, &symbol, &site.code);
                Finding {
                    rule: site.rule,
                    name: site.rule.name().to_string(),
                    severity,
                    confidence,
                    file: file.path.clone(),
                    line: site.span.line,
                    column: site.span.column,
                    end_line: site.span.end_line,
                    end_column: site.span.end_column,
                    symbol,
                    code: site.code,
                    reason,
                    fingerprint,
                    via: via.map(|entry| self.via(entry)),
                    runtime: None,
                }
            })
            .collect()
    }

    /// The source of a call, on one line (its callee's name when the file cannot be read again).
    fn call_code(
        &self,
        call: &CallSite,
        text: &mut Option<Option<Arc<str>>>,
        load_text: &dyn Fn() -> Option<Arc<str>>,
    ) -> String {
        let text = text.get_or_insert_with(load_text);
        text.as_deref()
            .and_then(|t| t.get(call.range.0 as usize..call.range.1 as usize))
            .map_or_else(|| call.target.name().to_string(), one_line)
    }

    /// Whether a call resolves to a configured transfer function.
    fn calls_transfer_function(&self, file_index: usize, call_index: usize) -> bool {
        self.callees(file_index, call_index)
            .iter()
            .any(|id| self.transfer_functions.contains_key(id))
    }

    /// Calls of configured transfer functions are sites of their rule, judged
    /// by the caller's context, as a call of the library API they wrap would
    /// be. A transfer function calling another (the gate's method handing
    /// over to its reader) is one transfer's implementation, reported where
    /// the outer one is called (as `#[track_caller]` records it at run time).
    fn transfer_calls(
        &self,
        file_index: usize,
        text: &mut Option<Option<Arc<str>>>,
        load_text: &dyn Fn() -> Option<Arc<str>>,
    ) -> Vec<(Site, Doubt)> {
        if self.transfer_functions.is_empty() {
            return Vec::new();
        }
        let file = &self.files[file_index];
        let mut sites = Vec::new();
        for (call_index, call) in file.calls.iter().enumerate() {
            let callees = self.callees(file_index, call_index);
            let matched: Vec<&TransferFunction> = callees
                .iter()
                .filter_map(|id| self.transfer_functions.get(id))
                .collect();
            let Some(entry) = matched.first() else {
                continue;
            };
            let delegation = call
                .context
                .function
                .is_some_and(|f| self.transfer_functions.contains_key(&(file_index, f)));
            if delegation {
                continue;
            }
            // A call linked by name to several methods, not all of them transfer functions.
            let doubt = if matched.len() < callees.len() {
                let names: Vec<String> = callees.iter().map(|id| format!("`{}`", self.qualname(*id))).collect();
                let note = format!(
                    "the receiver's type is not known: the call may be any of {}",
                    names.join(", ")
                );
                (Confidence::Possible, Some(note))
            } else {
                CERTAIN
            };
            sites.push((
                Site {
                    rule: entry.rule,
                    span: call.span,
                    code: self.call_code(call, text, load_text),
                    context: call.context.clone(),
                    certainty: Certainty::Known,
                    note: Some(format!(
                        "calls `{}`, a transfer function of the configuration",
                        entry.name
                    )),
                    moves_module: false,
                },
                doubt,
            ));
        }
        sites
    }

    /// Calls of project helpers that synchronise are D2H004 sites themselves
    /// (calls of configured transfer functions are judged by [`Self::transfer_calls`]).
    fn sync_wrapper_calls(
        &self,
        file_index: usize,
        text: &mut Option<Option<Arc<str>>>,
        load_text: &dyn Fn() -> Option<Arc<str>>,
    ) -> Vec<(Site, Doubt)> {
        let file = &self.files[file_index];
        let mut sites = Vec::new();
        for (call_index, call) in file.calls.iter().enumerate() {
            let callees = self.callees(file_index, call_index);
            let Some(&wrapper) = callees.iter().find(|id| self.sync_wrappers.contains(id)) else {
                continue;
            };
            if call.context.function.map(|f| (file_index, f)) == Some(wrapper) {
                continue;
            }
            if self.calls_transfer_function(file_index, call_index) {
                continue;
            }
            sites.push((
                Site {
                    rule: RuleId::ExplicitSync,
                    span: call.span,
                    code: self.call_code(call, text, load_text),
                    context: call.context.clone(),
                    certainty: Certainty::Known,
                    note: Some(format!("calls `{}`, which synchronises", self.qualname(wrapper))),
                    moves_module: false,
                },
                CERTAIN,
            ));
        }
        sites
    }

    /// The severity of a site and the reason for it, most decisive context
    /// first. Only where the site stands counts: doubt about its receiver is
    /// the finding's confidence, never a lower severity. A site critical
    /// because a hot chain reaches its function also gets the chain's entry.
    fn severity(&self, file_index: usize, site: &Site) -> Verdict {
        let file = &self.files[file_index];
        let context: &Context = &site.context;
        let function = context.function.map(|f| &file.functions[f]);
        let note = site.note.as_deref().map(|n| format!("{n}; ")).unwrap_or_default();
        let verdict = |severity: Severity, why: String| Verdict {
            severity,
            reason: format!("{note}{why}"),
            via: None,
        };
        let low = |why: String| verdict(Severity::Low, why);

        if let Some(guard) = &context.guard {
            return low(format!("guarded by `{guard}`"));
        }
        if let Some(error_path) = &context.error_path {
            return low(error_path.clone());
        }
        if let Some(cold_block) = &context.cold_block {
            return low(cold_block.clone());
        }
        if file.is_test {
            return low("in test code".to_string());
        }
        let Some(function) = function else {
            return low("at module level (import-time setup)".to_string());
        };
        if let Some(kind) = &function.cold {
            return low(format!("in `{}` ({kind})", function.qualname));
        }
        if site.moves_module {
            return low(format!(
                "in `{}`: a one-off move, not a per-frame copy",
                function.qualname
            ));
        }
        if let Some(once) = &context.once {
            return verdict(Severity::Medium, format!("in `{}`, {once}", function.qualname));
        }
        let id = (file_index, context.function.unwrap_or_default());
        let in_loop = context.in_loop.as_ref();
        // A function with a frame loop of its own runs once per video or epoch:
        // its code outside the loop too, unless another hot function calls it
        // (a frame loop, or a root such as a tracker's `update`).
        let outside = function
            .frame_loops
            .iter()
            .all(|&(first, last)| !(first..=last).contains(&site.span.line));
        let called_per_frame =
            self.hot.get(&id).is_some_and(|path| path.chain.len() > 1) || self.per_frame_roots.contains(&id);
        if let (Some(&(loop_line, _)), true, false) = (function.frame_loops.first(), outside, called_per_frame) {
            let why = format!(
                "in `{}` outside its frame loop (line {loop_line}): once per call (per video or epoch), not per frame",
                function.qualname
            );
            return verdict(Severity::Medium, why);
        }
        if let Some(path) = self.hot.get(&id) {
            let loop_words = in_loop.map(|_| "in a loop body ").unwrap_or("");
            if let Some(root) = &function.hot_root {
                let why = format!("{loop_words}in `{}` (hot root: {root})", function.qualname);
                return verdict(Severity::Critical, why);
            }
            let why = format!(
                "{loop_words}in `{}`, reached from {}",
                function.qualname,
                format_chain(&path.chain)
            );
            return Verdict {
                via: path.entry,
                ..verdict(Severity::Critical, why)
            };
        }
        if let Some(caller) = self.called_only_when_cold.get(&id) {
            return low(format!(
                "in `{}`, called only from cold code (e.g. {caller})",
                function.qualname
            ));
        }
        if let Some(model_call) = in_loop.and_then(|l| l.calls_model.as_ref()) {
            let what = if model_call.starts_with("iterates ") {
                model_call.clone()
            } else {
                format!("calls `{model_call}`")
            };
            let why = format!(
                "in the body of a loop in `{}` that {what} (frame loop)",
                function.qualname
            );
            return verdict(Severity::Critical, why);
        }
        let why = format!(
            "in `{}`, not reached from a hot root (per-call code)",
            function.qualname
        );
        verdict(Severity::Medium, why)
    }

    /// An entry call as a report shows it: where the call is, and what it calls.
    fn via(&self, entry: EntryCall) -> Via {
        let file = &self.files[entry.file];
        let call = &file.calls[entry.call];
        Via {
            file: file.path.clone(),
            line: call.span.line,
            column: call.span.column,
            calls: self.qualname(entry.enters).to_string(),
        }
    }
}

/// A site's severity, the reason for it, and the call where the work path
/// enters the hot chain that makes it critical (only then).
struct Verdict {
    severity: Severity,
    reason: String,
    via: Option<EntryCall>,
}

fn format_chain(chain: &[String]) -> String {
    let mut parts: Vec<String> = chain[..chain.len().saturating_sub(1)]
        .iter()
        .map(|c| {
            if c.starts_with("the frame loop") {
                c.clone()
            } else {
                format!("`{c}`")
            }
        })
        .collect();
    if parts.is_empty() {
        parts.push("a hot root".to_string());
    }
    parts.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_read_left_to_right() {
        let chain = vec![
            "Orchestrator.process_frame".to_string(),
            "run".to_string(),
            "post".to_string(),
        ];
        assert_eq!(format_chain(&chain), "`Orchestrator.process_frame` → `run`");
    }
}
