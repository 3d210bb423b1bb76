//! Hotness and coldness over the call graph: breadth-first from the hot
//! roots and frame loops (each hot function keeps its shortest chain, and the
//! call where the work path enters it), and the functions called only from
//! cold places (setup, guards, error paths).

use std::collections::VecDeque;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{EntryCall, FnId, HotPath, Project};
use crate::model::CallSite;

impl Project<'_> {
    /// Breadth-first from the hot roots and the frame loops, so every hot
    /// function keeps its shortest chain. Each chain also keeps its entry:
    /// the call a frame loop or a root makes that leads down it (a root has
    /// none; a callee inherits its caller's, or takes the root's own call).
    pub(super) fn spread_hotness(&mut self) {
        let mut queue = VecDeque::new();
        for (file_index, file) in self.files.iter().enumerate() {
            for (fn_index, function) in file.functions.iter().enumerate() {
                let id = (file_index, fn_index);
                if function.hot_root.is_some() && !self.is_cold(id) {
                    let path = HotPath {
                        chain: vec![function.qualname.clone()],
                        entry: None,
                    };
                    self.hot.insert(id, path);
                    queue.push_back(id);
                }
            }
        }
        // Calls made in a loop that runs a model (a frame loop) are hot too.
        for (file_index, file) in self.files.iter().enumerate() {
            for (call_index, call) in file.calls.iter().enumerate() {
                let Some(loop_ctx) = &call.context.in_loop else {
                    continue;
                };
                if loop_ctx.calls_model.is_none() || !call.context.propagates() {
                    continue;
                }
                let origin = match call.context.function {
                    Some(f) => format!("the frame loop in `{}`", file.functions[f].qualname),
                    None => format!("the frame loop at {}:{}", file.path, loop_ctx.line),
                };
                for &callee in &self.call_targets[file_index][call_index] {
                    if !self.hot.contains_key(&callee) && !self.is_cold(callee) {
                        let path = HotPath {
                            chain: vec![origin.clone(), self.qualname(callee).to_string()],
                            entry: Some(EntryCall {
                                file: file_index,
                                call: call_index,
                                enters: callee,
                            }),
                        };
                        self.hot.insert(callee, path);
                        queue.push_back(callee);
                    }
                }
            }
        }
        let mut calls_by_function: HashMap<FnId, Vec<usize>> = HashMap::default();
        for (file_index, file) in self.files.iter().enumerate() {
            for (call_index, call) in file.calls.iter().enumerate() {
                if let Some(f) = call.context.function {
                    calls_by_function.entry((file_index, f)).or_default().push(call_index);
                }
            }
        }
        self.walk_hot(queue, &calls_by_function);
        // A root around its own frame loop that another hot function calls runs per frame
        // after all (a tracker's re-identification `__call__` chunking its crops): what it
        // calls outside its loop is per frame too.
        loop {
            let called_per_frame: Vec<FnId> = self
                .hot
                .iter()
                .filter(|(id, path)| {
                    path.chain.len() == 1
                        && !self.files[id.0].functions[id.1].frame_loops.is_empty()
                        && !self.per_frame_roots.contains(*id)
                        && self.has_hot_caller(**id)
                })
                .map(|(id, _)| *id)
                .collect();
            if called_per_frame.is_empty() {
                break;
            }
            self.per_frame_roots.extend(called_per_frame.iter().copied());
            self.walk_hot(called_per_frame.into_iter().collect(), &calls_by_function);
        }
    }

    /// Whether a hot function other than `id` calls it (a call that propagates).
    fn has_hot_caller(&self, id: FnId) -> bool {
        self.callers.get(&id).into_iter().flatten().any(|&(file, call_index)| {
            let call = &self.files[file].calls[call_index];
            call.context.propagates()
                && call
                    .context
                    .function
                    .is_some_and(|f| (file, f) != id && self.hot.contains_key(&(file, f)))
        })
    }

    /// Breadth-first from `queue`'s hot functions to every function they call.
    fn walk_hot(&mut self, mut queue: VecDeque<FnId>, calls_by_function: &HashMap<FnId, Vec<usize>>) {
        while let Some(caller) = queue.pop_front() {
            let HotPath { chain, entry } = self.hot[&caller].clone();
            // A root around its own frame loop (a validator's `__call__` looping over its
            // loader) runs once per call: what it calls outside the loop is not per frame,
            // unless another hot function calls the root.
            let frame_loops = &self.files[caller.0].functions[caller.1].frame_loops;
            let root_with_loops =
                chain.len() == 1 && !frame_loops.is_empty() && !self.per_frame_roots.contains(&caller);
            for &call_index in calls_by_function.get(&caller).into_iter().flatten() {
                let call = &self.files[caller.0].calls[call_index];
                if !call.context.propagates() {
                    continue;
                }
                let line = call.span.line;
                if root_with_loops && !frame_loops.iter().any(|&(first, last)| (first..=last).contains(&line)) {
                    continue;
                }
                for &callee in &self.call_targets[caller.0][call_index] {
                    if self.hot.contains_key(&callee) || self.is_cold(callee) {
                        continue;
                    }
                    let mut callee_chain = chain.clone();
                    callee_chain.push(self.qualname(callee).to_string());
                    // A root's own call is where the work path enters; further down, the caller's entry holds.
                    let callee_entry = entry.unwrap_or(EntryCall {
                        file: caller.0,
                        call: call_index,
                        enters: callee,
                    });
                    let path = HotPath {
                        chain: callee_chain,
                        entry: Some(callee_entry),
                    };
                    self.hot.insert(callee, path);
                    queue.push_back(callee);
                }
            }
        }
    }

    /// Whether a call is test code (a test file, a test function, a test block).
    fn is_test_call(&self, file_index: usize, call: &CallSite) -> bool {
        let file = &self.files[file_index];
        file.is_test
            || matches!(
                call.context.cold_block.as_deref(),
                Some("in test code" | "in benchmark code")
            )
            || call
                .context
                .function
                .is_some_and(|f| file.functions[f].cold.as_deref() == Some("test code"))
    }

    /// Why a call happens only in a low context, if it does: a guard, an
    /// error path, a cold block, module level, or a cold caller (by name or
    /// itself called only when cold, per `cold_now`). Borrowed, so the
    /// fixpoint below formats nothing.
    fn cold_call<'c>(
        &'c self,
        file_index: usize,
        call: &'c CallSite,
        cold_now: &HashSet<FnId>,
    ) -> Option<ColdCause<'c>> {
        let file = &self.files[file_index];
        let context = &call.context;
        if let Some(guard) = &context.guard {
            return Some(ColdCause::Guard(guard));
        }
        if let Some(why) = context.error_path.as_ref() {
            return Some(ColdCause::Said(why));
        }
        if let Some(why) = &context.cold_block {
            // A script's `if __name__ == "__main__":` calls its entry point:
            // the callee is the program, not setup (it keeps its own severity).
            if why.starts_with("under `if __name__") {
                return None;
            }
            return Some(ColdCause::Said(why));
        }
        let Some(function) = context.function else {
            return Some(ColdCause::ModuleLevel);
        };
        let caller = &file.functions[function];
        if let Some(kind) = &caller.cold {
            return Some(ColdCause::ColdCaller(&caller.qualname, Some(kind)));
        }
        cold_now
            .contains(&(file_index, function))
            .then_some(ColdCause::ColdCaller(&caller.qualname, None))
    }

    /// Functions that are not hot and whose every caller outside test code is
    /// cold: a helper that only setup calls is setup too, one that only a
    /// guarded block calls is guarded. The largest such set (so a cycle that
    /// only setup enters is setup); a function without callers (an entry
    /// point) or with one caller in per-call code keeps its own severity.
    pub(super) fn find_called_only_when_cold(&mut self) {
        let mut cold_now: HashSet<FnId> = HashSet::default();
        // Each candidate's callers outside test code, found once.
        let mut real_callers: HashMap<FnId, Vec<(usize, usize)>> = HashMap::default();
        for (file_index, file) in self.files.iter().enumerate() {
            for fn_index in 0..file.functions.len() {
                let id = (file_index, fn_index);
                if self.hot.contains_key(&id) || self.is_cold(id) {
                    continue;
                }
                let callers: Vec<(usize, usize)> = self
                    .callers
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&(f, c)| !self.is_test_call(f, &self.files[f].calls[c]))
                    .collect();
                if !callers.is_empty() {
                    cold_now.insert(id);
                    real_callers.insert(id, callers);
                }
            }
        }
        loop {
            let warm: Vec<FnId> = cold_now
                .iter()
                .copied()
                .filter(|id| {
                    real_callers[id]
                        .iter()
                        .any(|&(f, c)| self.cold_call(f, &self.files[f].calls[c], &cold_now).is_none())
                })
                .collect();
            if warm.is_empty() {
                break;
            }
            for id in warm {
                cold_now.remove(&id);
            }
        }
        let mut why: HashMap<FnId, String> = HashMap::default();
        for &id in &cold_now {
            let first = real_callers[&id]
                .iter()
                .filter_map(|&(f, c)| self.cold_call(f, &self.files[f].calls[c], &cold_now))
                .map(|cause| cause.to_string())
                .min();
            why.insert(id, first.unwrap_or_default());
        }
        self.called_only_when_cold = why;
    }
}

/// Why a call happens only in a low context (see `Project::cold_call`).
enum ColdCause<'c> {
    Guard(&'c str),
    /// An error path or a cold block, in the front end's words.
    Said(&'c str),
    ModuleLevel,
    /// A caller that is cold by its kind (`setup`), or itself called only when cold.
    ColdCaller(&'c str, Option<&'c str>),
}

impl std::fmt::Display for ColdCause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColdCause::Guard(guard) => write!(f, "guarded by `{guard}`"),
            ColdCause::Said(why) => f.write_str(why),
            ColdCause::ModuleLevel => f.write_str("module level"),
            ColdCause::ColdCaller(caller, Some(kind)) => write!(f, "`{caller}` ({kind})"),
            ColdCause::ColdCaller(caller, None) => write!(f, "`{caller}`"),
        }
    }
}
