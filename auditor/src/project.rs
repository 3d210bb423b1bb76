//! The project pass: joins every file's facts into one call graph, resolves
//! what the front ends left pending (a parameter's type from its callers, a
//! call's result from the callee), spreads hotness from the hot roots, and
//! turns each site into a [`Finding`] with a severity and the reason for it.

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use d2h_reports::{Finding, Fingerprinter};
use d2h_rules::{RuleId, Severity};

use crate::model::{ArgSlot, CallSite, CallTarget, Certainty, Context, FileFacts, Origin, Site, Ty};
use crate::policy::{Policy, TransferFunction};
use crate::source::one_line;

/// A function anywhere in the project: (file index, function index).
pub type FnId = (usize, usize);

/// How deep type resolution follows parameters and returns.
const RESOLUTION_DEPTH: usize = 4;

/// Most project methods a `obj.m()` call may stand for before it is too ambiguous to link.
const MAX_METHOD_CANDIDATES: usize = 3;

pub struct Project<'a> {
    files: &'a [FileFacts],
    /// (module, function name) → module-level functions.
    by_module_name: HashMap<(&'a str, &'a str), Vec<FnId>>,
    /// function name → module-level functions anywhere.
    by_name: HashMap<&'a str, Vec<FnId>>,
    /// (class, method) → methods.
    by_class_method: HashMap<(&'a str, &'a str), Vec<FnId>>,
    /// method name → methods anywhere.
    by_method: HashMap<&'a str, Vec<FnId>>,
    /// Every dotted part of every project module (`pkg`, `sub`, `mod`).
    module_parts: HashSet<&'a str>,
    /// What each call site (file, call) resolves to, computed once.
    call_targets: Vec<Vec<Vec<FnId>>>,
    /// callee → its call sites (file, call index).
    callers: HashMap<FnId, Vec<(usize, usize)>>,
    /// Why each hot function is hot: the chain of qualified names from its root.
    hot: HashMap<FnId, Vec<String>>,
    /// Functions that synchronise directly, unguarded.
    sync_wrappers: HashSet<FnId>,
    /// Project functions that are configured transfer functions (`transfer-functions`).
    transfer_functions: HashMap<FnId, TransferFunction>,
    /// Functions that are not hot and are called only from low contexts
    /// (setup, teardown, guarded, error paths), with one such caller in words.
    called_only_when_cold: HashMap<FnId, String>,
}

impl<'a> Project<'a> {
    /// The project of `files`; `policy` names the transfer functions.
    pub fn new(files: &'a [FileFacts], policy: &Policy) -> Self {
        let mut project = Project {
            files,
            by_module_name: HashMap::default(),
            by_name: HashMap::default(),
            by_class_method: HashMap::default(),
            by_method: HashMap::default(),
            module_parts: files.iter().flat_map(|f| f.module.split('.')).collect(),
            call_targets: Vec::new(),
            callers: HashMap::default(),
            hot: HashMap::default(),
            sync_wrappers: HashSet::default(),
            transfer_functions: HashMap::default(),
            called_only_when_cold: HashMap::default(),
        };
        project.index();
        project.find_transfer_functions(policy);
        project.link_callers();
        project.find_sync_wrappers();
        project.spread_hotness();
        project.find_called_only_when_cold();
        project
    }

    fn index(&mut self) {
        for (file_index, file) in self.files.iter().enumerate() {
            for (fn_index, function) in file.functions.iter().enumerate() {
                let id = (file_index, fn_index);
                match &function.class {
                    Some(class) => {
                        self.by_class_method
                            .entry((class.as_str(), function.name.as_str()))
                            .or_default()
                            .push(id);
                        self.by_method.entry(function.name.as_str()).or_default().push(id);
                    }
                    None => {
                        self.by_module_name
                            .entry((file.module.as_str(), function.name.as_str()))
                            .or_default()
                            .push(id);
                        self.by_name.entry(function.name.as_str()).or_default().push(id);
                    }
                }
            }
        }
    }

    /// The project functions the configuration names as transfer functions,
    /// matched on their full dotted name (`pipeline.transfer.Gate.to_vec2`).
    fn find_transfer_functions(&mut self, policy: &Policy) {
        if policy.transfer_functions.is_empty() {
            return;
        }
        for (file_index, file) in self.files.iter().enumerate() {
            for (fn_index, function) in file.functions.iter().enumerate() {
                let full = format!("{}.{}", file.module, function.qualname.replace("::", "."));
                if let Some(entry) = policy.transfer_function_named(&full) {
                    self.transfer_functions.insert((file_index, fn_index), entry.clone());
                }
            }
        }
    }

    fn link_callers(&mut self) {
        let call_targets: Vec<Vec<Vec<FnId>>> = self
            .files
            .iter()
            .enumerate()
            .map(|(file_index, file)| {
                file.calls
                    .iter()
                    .map(|call| self.resolve(file_index, &call.target))
                    .collect()
            })
            .collect();
        for (file_index, targets) in call_targets.iter().enumerate() {
            for (call_index, callees) in targets.iter().enumerate() {
                for &callee in callees {
                    self.callers.entry(callee).or_default().push((file_index, call_index));
                }
            }
        }
        self.call_targets = call_targets;
    }

    /// The functions call `call_index` of file `file_index` may reach.
    fn callees(&self, file_index: usize, call_index: usize) -> &[FnId] {
        &self.call_targets[file_index][call_index]
    }

    /// The project functions a call target may stand for.
    pub fn resolve(&self, file_index: usize, target: &CallTarget) -> Vec<FnId> {
        let file = &self.files[file_index];
        match target {
            CallTarget::Name {
                name,
                imported_from: None,
            } => {
                if let Some(local) = self.by_module_name.get(&(file.module.as_str(), name.as_str())) {
                    return local.clone();
                }
                // Nested functions are indexed by their module too; else a unique name elsewhere.
                match self.by_name.get(name.as_str()) {
                    Some(found) if found.len() == 1 => found.clone(),
                    _ => Vec::new(),
                }
            }
            CallTarget::Name {
                name,
                imported_from: Some(module),
            }
            | CallTarget::ModuleAttr { module, name } => {
                let found: Vec<FnId> = self
                    .by_name
                    .get(name.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|(f, _)| module_matches(&self.files[*f].module, module))
                    .copied()
                    .collect();
                if !found.is_empty() {
                    return found;
                }
                // `from pkg import Class` then `Class.method` is not a function; `from mod import helper`
                // where `mod` is a project module spelled differently: accept a unique name.
                let root = module.split('.').next().unwrap_or("");
                let is_project_module = self.module_parts.contains(root);
                match self.by_name.get(name.as_str()) {
                    Some(found) if found.len() == 1 && is_project_module => found.clone(),
                    _ => Vec::new(),
                }
            }
            CallTarget::SelfMethod { class, method } => {
                let same_class: Vec<FnId> = self
                    .by_class_method
                    .get(&(class.as_str(), method.as_str()))
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                if !same_class.is_empty() {
                    return same_class;
                }
                self.methods_named(method)
            }
            CallTarget::Method { method } => self.methods_named(method),
            CallTarget::MethodOfResult { receiver, method } => {
                let mut classes: Vec<&str> = self
                    .resolve(file_index, receiver)
                    .into_iter()
                    .filter_map(|(f, i)| self.files[f].functions[i].returns_type.as_deref())
                    .collect();
                classes.sort_unstable();
                classes.dedup();
                let typed: Vec<FnId> = classes
                    .iter()
                    .filter_map(|class| self.by_class_method.get(&(*class, method.as_str())))
                    .flatten()
                    .copied()
                    .collect();
                if typed.is_empty() {
                    self.methods_named(method)
                } else {
                    typed
                }
            }
        }
    }

    fn methods_named(&self, method: &str) -> Vec<FnId> {
        match self.by_method.get(method) {
            Some(found) if found.len() <= MAX_METHOD_CANDIDATES => found.clone(),
            _ => Vec::new(),
        }
    }

    /// Helpers that synchronise unguarded; setup and other cold functions are not helpers.
    fn find_sync_wrappers(&mut self) {
        for (file_index, file) in self.files.iter().enumerate() {
            for site in &file.sites {
                if site.rule == RuleId::ExplicitSync && site.context.propagates() {
                    if let Some(function) = site.context.function {
                        if !self.is_cold((file_index, function)) {
                            self.sync_wrappers.insert((file_index, function));
                        }
                    }
                }
            }
        }
    }

    fn is_cold(&self, id: FnId) -> bool {
        let file = &self.files[id.0];
        file.is_test || file.functions[id.1].cold.is_some()
    }

    fn qualname(&self, id: FnId) -> &str {
        &self.files[id.0].functions[id.1].qualname
    }

    /// Breadth-first from the hot roots and the frame loops, so every hot
    /// function keeps its shortest chain.
    fn spread_hotness(&mut self) {
        let mut queue = VecDeque::new();
        for (file_index, file) in self.files.iter().enumerate() {
            for (fn_index, function) in file.functions.iter().enumerate() {
                let id = (file_index, fn_index);
                if function.hot_root.is_some() && !self.is_cold(id) {
                    self.hot.insert(id, vec![function.qualname.clone()]);
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
                        self.hot
                            .insert(callee, vec![origin.clone(), self.qualname(callee).to_string()]);
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
        while let Some(caller) = queue.pop_front() {
            let chain = self.hot[&caller].clone();
            for &call_index in calls_by_function.get(&caller).into_iter().flatten() {
                let call = &self.files[caller.0].calls[call_index];
                if !call.context.propagates() {
                    continue;
                }
                for &callee in &self.call_targets[caller.0][call_index] {
                    if self.hot.contains_key(&callee) || self.is_cold(callee) {
                        continue;
                    }
                    let mut callee_chain = chain.clone();
                    callee_chain.push(self.qualname(callee).to_string());
                    self.hot.insert(callee, callee_chain);
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
    /// itself called only when cold, per `cold_now`).
    fn cold_call(&self, file_index: usize, call: &CallSite, cold_now: &HashSet<FnId>) -> Option<String> {
        let file = &self.files[file_index];
        let context = &call.context;
        if let Some(guard) = &context.guard {
            return Some(format!("guarded by `{guard}`"));
        }
        if let Some(why) = context.error_path.as_ref().or(context.cold_block.as_ref()) {
            return Some(why.clone());
        }
        let Some(function) = context.function else {
            return Some("module level".to_string());
        };
        let caller = &file.functions[function];
        if let Some(kind) = &caller.cold {
            return Some(format!("`{}` ({kind})", caller.qualname));
        }
        cold_now
            .contains(&(file_index, function))
            .then(|| format!("`{}`", caller.qualname))
    }

    /// Functions that are not hot and whose every caller outside test code is
    /// cold: a helper that only setup calls is setup too, one that only a
    /// guarded block calls is guarded. The largest such set (so a cycle that
    /// only setup enters is setup); a function without callers (an entry
    /// point) or with one caller in per-call code keeps its own severity.
    fn find_called_only_when_cold(&mut self) {
        let mut cold_now: HashSet<FnId> = HashSet::default();
        for (file_index, file) in self.files.iter().enumerate() {
            for fn_index in 0..file.functions.len() {
                let id = (file_index, fn_index);
                if self.hot.contains_key(&id) || self.is_cold(id) {
                    continue;
                }
                let has_caller = self
                    .callers
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .any(|&(f, c)| !self.is_test_call(f, &self.files[f].calls[c]));
                if has_caller {
                    cold_now.insert(id);
                }
            }
        }
        loop {
            let warm: Vec<FnId> = cold_now
                .iter()
                .copied()
                .filter(|id| {
                    self.callers.get(id).into_iter().flatten().any(|&(f, c)| {
                        let call = &self.files[f].calls[c];
                        !self.is_test_call(f, call) && self.cold_call(f, call, &cold_now).is_none()
                    })
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
            let first = self
                .callers
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|&&(f, c)| !self.is_test_call(f, &self.files[f].calls[c]))
                .filter_map(|&(f, c)| self.cold_call(f, &self.files[f].calls[c], &cold_now))
                .min();
            why.insert(id, first.unwrap_or_default());
        }
        self.called_only_when_cold = why;
    }

    /// Resolves an unknown value's origin to a type, following callers and callees.
    fn resolve_origin(&self, file_index: usize, origin: &Origin, depth: usize, seen: &mut HashSet<String>) -> Ty {
        if depth >= RESOLUTION_DEPTH {
            return Ty::UNKNOWN;
        }
        match origin {
            Origin::Param { function, name } => {
                let key = format!("p{file_index}:{function}:{name}");
                if !seen.insert(key) {
                    return Ty::UNKNOWN;
                }
                let facts = &self.files[file_index].functions[*function];
                let Some(position) = facts.params.iter().position(|p| p == name) else {
                    return Ty::UNKNOWN;
                };
                let positional = position.checked_sub(usize::from(facts.has_receiver));
                for &(caller_file, call_index) in self.callers.get(&(file_index, *function)).into_iter().flatten() {
                    let call = &self.files[caller_file].calls[call_index];
                    let arg = call.args.iter().find(|(slot, _)| match slot {
                        ArgSlot::Positional(i) => Some(*i) == positional,
                        ArgSlot::Keyword(k) => k == name,
                    });
                    if let Some((_, ty)) = arg {
                        let resolved = self.resolve_ty(caller_file, ty, depth + 1, seen);
                        if resolved.is_tensor() {
                            return resolved;
                        }
                    }
                }
                Ty::UNKNOWN
            }
            Origin::Return(target) => {
                let key = format!("r{file_index}:{target:?}");
                if !seen.insert(key) {
                    return Ty::UNKNOWN;
                }
                for callee in self.resolve(file_index, target) {
                    let returns = &self.files[callee.0].functions[callee.1].returns;
                    let resolved = self.resolve_ty(callee.0, returns, depth + 1, seen);
                    if resolved.is_tensor() {
                        return resolved;
                    }
                }
                Ty::UNKNOWN
            }
        }
    }

    fn resolve_ty(&self, file_index: usize, ty: &Ty, depth: usize, seen: &mut HashSet<String>) -> Ty {
        match ty {
            Ty::Unknown(Some(origin)) => self.resolve_origin(file_index, origin, depth, seen),
            other => other.clone(),
        }
    }

    /// The findings of one file, in source order, with severities and reasons.
    ///
    /// `load_text` reads the file's source again, for the code of call sites
    /// that only the project pass finds (calls of sync helpers).
    pub fn findings(&self, file_index: usize, load_text: &dyn Fn() -> Option<Arc<str>>) -> Vec<Finding> {
        let file = &self.files[file_index];
        let mut sites: Vec<(Site, Option<String>)> = Vec::new();
        for site in &file.sites {
            let uncertainty = match &site.certainty {
                Certainty::Known => None,
                Certainty::Uncertain(note) => Some(note.clone()),
                Certainty::Pending { origin, fallback } => {
                    let resolved = self.resolve_origin(file_index, origin, 0, &mut HashSet::default());
                    if resolved.is_tensor() {
                        None
                    } else if let Some(note) = fallback {
                        Some(note.clone())
                    } else {
                        continue;
                    }
                }
            };
            sites.push((site.clone(), uncertainty));
        }
        let mut text: Option<Option<Arc<str>>> = None;
        sites.extend(self.transfer_calls(file_index, &mut text, load_text));
        sites.extend(self.sync_wrapper_calls(file_index, &mut text, load_text));
        sites.sort_by_key(|(site, _)| (site.span, site.rule));
        sites.dedup_by(|a, b| a.0.span == b.0.span && a.0.rule == b.0.rule);

        let mut fingerprints = Fingerprinter::new();
        sites
            .into_iter()
            .map(|(site, uncertainty)| {
                let symbol = site
                    .context
                    .function
                    .map_or_else(|| "<module>".to_string(), |f| file.functions[f].qualname.clone());
                let (severity, reason) = self.severity(file_index, &site, uncertainty.as_deref());
                let fingerprint = fingerprints.next(site.rule, &file.path, &symbol, &site.code);
                Finding {
                    rule: site.rule,
                    name: site.rule.name().to_string(),
                    severity,
                    file: file.path.clone(),
                    line: site.span.line,
                    column: site.span.column,
                    end_line: site.span.end_line,
                    end_column: site.span.end_column,
                    symbol,
                    code: site.code,
                    reason,
                    fingerprint,
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
    ) -> Vec<(Site, Option<String>)> {
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
            let uncertainty = (matched.len() < callees.len()).then(|| {
                let names: Vec<String> = callees.iter().map(|id| format!("`{}`", self.qualname(*id))).collect();
                format!(
                    "the receiver's type is not known: the call may be any of {}",
                    names.join(", ")
                )
            });
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
                uncertainty,
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
    ) -> Vec<(Site, Option<String>)> {
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
                None,
            ));
        }
        sites
    }

    /// The severity of a site and the reason for it, most decisive context first.
    fn severity(&self, file_index: usize, site: &Site, uncertainty: Option<&str>) -> (Severity, String) {
        let file = &self.files[file_index];
        let context: &Context = &site.context;
        let function = context.function.map(|f| &file.functions[f]);
        let note = site.note.as_deref().map(|n| format!("{n}; ")).unwrap_or_default();
        let low = |why: String| (Severity::Low, format!("{note}{why}"));

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
        if let Some(uncertain) = uncertainty {
            return low(uncertain.to_string());
        }
        if site.moves_module {
            return low(format!(
                "in `{}`: a one-off move, not a per-frame copy",
                function.qualname
            ));
        }
        let id = (file_index, context.function.unwrap_or_default());
        let in_loop = context.in_loop.as_ref();
        if let Some(chain) = self.hot.get(&id) {
            let loop_words = in_loop.map(|_| "in a loop body ").unwrap_or("");
            let why = if let Some(root) = &function.hot_root {
                format!("{loop_words}in `{}` (hot root: {root})", function.qualname)
            } else {
                format!(
                    "{loop_words}in `{}`, reached from {}",
                    function.qualname,
                    format_chain(chain)
                )
            };
            return (Severity::Critical, format!("{note}{why}"));
        }
        if let Some(caller) = self.called_only_when_cold.get(&id) {
            return low(format!(
                "in `{}`, called only from cold code (e.g. {caller})",
                function.qualname
            ));
        }
        if let Some(model_call) = in_loop.and_then(|l| l.calls_model.as_ref()) {
            let why = format!(
                "in the body of a loop in `{}` that calls `{model_call}` (frame loop)",
                function.qualname
            );
            return (Severity::Critical, format!("{note}{why}"));
        }
        let why = format!(
            "in `{}`, not reached from a hot root (per-call code)",
            function.qualname
        );
        (Severity::Medium, format!("{note}{why}"))
    }

    /// Whether a function was found hot, and through which chain.
    pub fn hot_chain(&self, id: FnId) -> Option<&[String]> {
        self.hot.get(&id).map(Vec::as_slice)
    }
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

/// Whether a file's dotted module path is the imported module (`a.b.dfine` matches `dfine`, `b.dfine`).
fn module_matches(file_module: &str, imported: &str) -> bool {
    let dotted_suffix = |long: &str, short: &str| {
        long.len() > short.len() && long.ends_with(short) && long.as_bytes()[long.len() - short.len() - 1] == b'.'
    };
    file_module == imported || dotted_suffix(file_module, imported) || dotted_suffix(imported, file_module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_suffixes_match() {
        assert!(module_matches("pkg.dfine_infer", "dfine_infer"));
        assert!(module_matches("dfine_infer", "pkg.dfine_infer"));
        assert!(!module_matches("pkg.dfine_infer2", "dfine_infer"));
    }

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
