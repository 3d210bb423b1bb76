//! The project pass: joins every file's facts into one call graph, resolves
//! what the front ends left pending (a parameter's type from its callers, a
//! call's result from the callee), spreads hotness from the hot roots, and
//! turns each site into a [`Finding`](d2h_reports::Finding) with a severity and the reason for it.
//!
//! Split by stage: this module builds the graph and resolves calls and
//! pending types; `hotness.rs` spreads hotness and coldness over it;
//! `findings.rs` turns sites into findings with their severity.

mod findings;
mod hotness;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use d2h_rules::RuleId;

use crate::model::{ArgSlot, CallTarget, FileFacts, Origin, Ty};
use crate::policy::{Policy, TransferFunction};

/// A function anywhere in the project: (file index, function index).
pub type FnId = (usize, usize);

/// Why a function is hot: the chain of qualified names from its root (or
/// from the frame loop that calls it), and the call where the work path
/// enters that chain.
#[derive(Debug, Clone)]
pub struct HotPath {
    /// The root's qualified name (or the frame loop, in words), then each
    /// function called on the way, ending with this one.
    pub chain: Vec<String>,
    /// The call made by the root or in the frame loop that leads here;
    /// `None` for a root itself.
    pub entry: Option<EntryCall>,
}

/// A call where the work path enters a chain of calls: `self.files[file].calls[call]`,
/// made in a frame loop or by a hot root, and the function it enters on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCall {
    pub file: usize,
    pub call: usize,
    /// The callee of the call that the chain goes through.
    pub enters: FnId,
}

/// How deep type resolution follows parameters and returns.
const RESOLUTION_DEPTH: usize = 4;

/// Most project methods a `obj.m()` call may stand for before it is too ambiguous to link.
const MAX_METHOD_CANDIDATES: usize = 3;

/// Most classes searched above or below one class for a `self.m()` call.
const MAX_CLASS_WALK: usize = 256;

/// Most callees a call's result type is looked for in (the class's own method
/// and its base's come first, then subclasses' overrides).
const MAX_TYPE_CALLEES: usize = 8;

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
    /// class → the names of its bases (last segments).
    bases: HashMap<&'a str, Vec<&'a str>>,
    /// A base's name (last segment) → the classes deriving from it directly.
    subclasses: HashMap<&'a str, Vec<&'a str>>,
    /// A class's last segment → the classes of that name.
    classes_by_name: HashMap<&'a str, Vec<&'a str>>,
    /// A class → the classes deriving from it at any depth (computed once).
    descendants: HashMap<&'a str, Vec<&'a str>>,
    /// Every dotted part of every project module (`pkg`, `sub`, `mod`).
    module_parts: HashSet<&'a str>,
    /// What each call site (file, call) resolves to, computed once.
    call_targets: Vec<Vec<Vec<FnId>>>,
    /// callee → its call sites (file, call index).
    callers: HashMap<FnId, Vec<(usize, usize)>>,
    /// Why each hot function is hot: its chain from the root, and where the work path enters it.
    hot: HashMap<FnId, HotPath>,
    /// Roots around their own frame loop that another hot function calls: per frame after all.
    per_frame_roots: HashSet<FnId>,
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
            bases: HashMap::default(),
            subclasses: HashMap::default(),
            classes_by_name: HashMap::default(),
            descendants: HashMap::default(),
            module_parts: files.iter().flat_map(|f| f.module.split('.')).collect(),
            call_targets: Vec::new(),
            callers: HashMap::default(),
            hot: HashMap::default(),
            per_frame_roots: HashSet::default(),
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
        for class in self.files.iter().flat_map(|file| &file.classes) {
            let bases: Vec<&str> = class.bases.iter().map(String::as_str).collect();
            for &base in &bases {
                self.subclasses.entry(base).or_default().push(class.name.as_str());
            }
            self.bases.entry(class.name.as_str()).or_default().extend(bases);
            let last = class.name.rsplit('.').next().unwrap_or(&class.name);
            self.classes_by_name.entry(last).or_default().push(class.name.as_str());
        }
        let classes: Vec<&'a str> = self.bases.keys().copied().collect();
        for class in classes {
            let found = self.walk_descendants(class);
            if !found.is_empty() {
                self.descendants.insert(class, found);
            }
        }
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
                // The class's own method, else the nearest base's; and the
                // overrides in its subclasses, which `self` may be.
                let mut found = self.class_methods(class, method);
                if found.is_empty() {
                    found = self.inherited_method(class, method);
                }
                for id in self.overriding_methods(class, method) {
                    if !found.contains(&id) {
                        found.push(id);
                    }
                }
                if found.is_empty() {
                    return self.methods_named(method);
                }
                found
            }
            CallTarget::Method { method } => self.methods_named(method),
            CallTarget::MethodOfResult { receiver, method } => {
                let mut classes: Vec<&str> = self
                    .resolve(file_index, receiver)
                    .into_iter()
                    .filter_map(|(f, i)| self.files[f].functions[i].returns_type.as_deref())
                    .collect();
                // `SemanticMetrics()`: a project class's constructor makes an instance of it.
                if let CallTarget::Name { name, .. } | CallTarget::ModuleAttr { name, .. } = receiver.as_ref() {
                    classes.extend(self.classes_named(name));
                }
                classes.sort_unstable();
                classes.dedup();
                let method_of = |class: &str, method: &str| {
                    let own = self.class_methods(class, method);
                    if own.is_empty() {
                        self.inherited_method(class, method)
                    } else {
                        own
                    }
                };
                let typed: Vec<FnId> = classes
                    .iter()
                    .flat_map(|class| {
                        let found = method_of(class, method);
                        // Calling a module runs its `forward`.
                        if found.is_empty() && method == "__call__" {
                            method_of(class, "forward")
                        } else {
                            found
                        }
                    })
                    .collect();
                // An instance called like a function: no method of another class by name.
                if typed.is_empty() && method == "__call__" {
                    return typed;
                }
                if typed.is_empty() {
                    self.methods_named(method)
                } else {
                    typed
                }
            }
        }
    }

    /// The methods named `method` of the classes named `class` (the last segment matches).
    fn class_methods(&self, class: &str, method: &str) -> Vec<FnId> {
        self.by_class_method.get(&(class, method)).cloned().unwrap_or_default()
    }

    /// `method` as the nearest bases of `class` define it, breadth-first.
    fn inherited_method(&self, class: &str, method: &str) -> Vec<FnId> {
        let mut seen: HashSet<&str> = HashSet::default();
        let mut level: Vec<&str> = self.bases_of(class);
        while !level.is_empty() && seen.len() < MAX_CLASS_WALK {
            let found: Vec<FnId> = level
                .iter()
                .flat_map(|base| self.classes_named(base))
                .flat_map(|base| self.class_methods(base, method))
                .collect();
            if !found.is_empty() {
                return found;
            }
            level = level
                .into_iter()
                .filter(|base| seen.insert(base))
                .flat_map(|base| self.classes_named(base).into_iter().flat_map(|c| self.bases_of(c)))
                .collect();
        }
        Vec::new()
    }

    /// `method` as the classes deriving from `class`, at any depth, override it.
    fn overriding_methods(&self, class: &str, method: &str) -> Vec<FnId> {
        self.descendants
            .get(class)
            .into_iter()
            .flatten()
            .flat_map(|sub| self.class_methods(sub, method))
            .collect()
    }

    /// The classes deriving from `class` at any depth, breadth-first, at most [`MAX_CLASS_WALK`].
    fn walk_descendants(&self, class: &'a str) -> Vec<&'a str> {
        let mut seen: HashSet<&str> = HashSet::default();
        let mut order = Vec::new();
        let mut queue = std::collections::VecDeque::from([class]);
        while let Some(current) = queue.pop_front() {
            let last = current.rsplit('.').next().unwrap_or(current);
            for &sub in self.subclasses.get(last).into_iter().flatten() {
                if order.len() >= MAX_CLASS_WALK {
                    return order;
                }
                if sub != class && seen.insert(sub) {
                    order.push(sub);
                    queue.push_back(sub);
                }
            }
        }
        order
    }

    /// The bases `class` names.
    fn bases_of(&self, class: &str) -> Vec<&'a str> {
        self.bases.get(class).cloned().unwrap_or_default()
    }

    /// The project classes whose name (last segment) is `name`.
    fn classes_named(&self, name: &str) -> Vec<&'a str> {
        self.classes_by_name.get(name).cloned().unwrap_or_default()
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
                for callee in self.resolve(file_index, target).into_iter().take(MAX_TYPE_CALLEES) {
                    let returns = &self.files[callee.0].functions[callee.1].returns;
                    let resolved = self.resolve_ty(callee.0, returns, depth + 1, seen);
                    if resolved.is_tensor() {
                        return resolved;
                    }
                }
                Ty::UNKNOWN
            }
            Origin::ReturnElement { call, index } => {
                let key = format!("e{file_index}:{call:?}:{index}");
                if !seen.insert(key) {
                    return Ty::UNKNOWN;
                }
                for callee in self.resolve(file_index, call).into_iter().take(MAX_TYPE_CALLEES) {
                    let facts = &self.files[callee.0].functions[callee.1];
                    let Some(element) = facts.returns_elements.get(*index) else {
                        continue;
                    };
                    let resolved = self.resolve_ty(callee.0, element, depth + 1, seen);
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

    /// Whether a function was found hot, and through which chain.
    pub fn hot_chain(&self, id: FnId) -> Option<&[String]> {
        self.hot.get(&id).map(|path| path.chain.as_slice())
    }
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
}
