//! The analyser's state: the file's facts being built, the current function's
//! environment (name → [`Ty`]), and the local context of the statement at hand.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::imports::Imports;
use crate::facts::{Facts, Recorder};
use crate::model::{ArgSlot, CallTarget, Context, Origin, Span, Ty};
use crate::policy::Policy;
use crate::source::LineIndex;

/// The class being analysed.
pub(super) struct ClassScope {
    pub name: String,
    /// `self.attr` → its type, from assignments anywhere in the class.
    pub attrs: HashMap<String, Ty>,
    /// Attributes holding pinned host memory.
    pub pinned: FxHashSet<String>,
    /// Attributes holding an AMP `GradScaler`.
    pub grad_scalers: FxHashSet<String>,
    /// Whether the class derives from `nn.Module`.
    pub module: bool,
    /// The methods its body defines.
    pub methods: FxHashSet<String>,
}

pub(crate) struct Analyzer<'a> {
    pub policy: &'a Policy,
    pub imports: Imports,
    /// The file's facts, and the context of the code at hand.
    pub recorder: Recorder<'a>,
    /// Local names of the current function (or module) → type.
    pub env: HashMap<String, Ty>,
    /// Local names bound to pinned host memory.
    pub pinned: FxHashSet<String>,
    /// Local names bound to an AMP `GradScaler`.
    pub grad_scalers: FxHashSet<String>,
    /// The subscript about to be read is the target of `t[mask] = <Python number>`:
    /// a masked fill, which needs no count of the mask.
    pub filling_store: bool,
    /// Local names bound to a comparison (`keep = scores > t`): a boolean mask
    /// whatever the operands' types.
    pub masks: FxHashSet<String>,
    /// Local names bound to an integer index or a slice (`keep = nms(..)`,
    /// `s = slice(..)`): indexing with them gathers without syncing.
    pub indices: FxHashSet<String>,
    /// Module-level names → type.
    pub globals: HashMap<String, Ty>,
    /// Classes defined in this file that derive from a torch module.
    pub module_classes: Vec<String>,
    pub classes: Vec<ClassScope>,
    /// How deep the expression walk is, to stop before the stack does.
    pub depth: usize,
    /// The current function's return type so far.
    pub returns: Option<Ty>,
    /// The current function's tuple returns so far, element by element
    /// (`Some(empty)` once a `return` gives something else).
    pub returns_elements: Option<Vec<Ty>>,
}

impl<'a> Analyzer<'a> {
    pub fn run(
        module: &'a str,
        is_package: bool,
        is_test: bool,
        text: &'a str,
        index: &'a LineIndex,
        body: &[Stmt],
        policy: &'a Policy,
    ) -> Facts {
        let mut context = Context::default();
        if is_test {
            context.cold_block = Some("in test code".to_string());
        }
        let mut recorder = Recorder::new(text, index, policy, context);
        recorder.recording = false;
        let mut analyzer = Analyzer {
            policy,
            imports: Imports::collect(body, module, is_package),
            recorder,
            env: HashMap::default(),
            pinned: FxHashSet::default(),
            grad_scalers: FxHashSet::default(),
            filling_store: false,
            masks: FxHashSet::default(),
            indices: FxHashSet::default(),
            globals: HashMap::default(),
            module_classes: Vec::new(),
            classes: Vec::new(),
            returns: None,
            returns_elements: None,
            depth: 0,
        };
        // Pre-pass: module-level names and torch module classes, without recording.
        analyzer.prepass_module(body);
        analyzer.recorder.recording = true;
        analyzer.env = HashMap::default();
        analyzer.block(body);
        analyzer.recorder.facts
    }

    fn prepass_module(&mut self, body: &[Stmt]) {
        for stmt in body {
            if let Stmt::ClassDef(class) = stmt {
                let derives_module = class.arguments.as_ref().is_some_and(|args| {
                    args.args.iter().any(|base| {
                        self.imports
                            .qualify(base)
                            .is_some_and(|q| q.starts_with("torch.nn.") || q.ends_with(".Module") || q == "Module")
                            || self.module_classes.iter().any(|c| Some(c.as_str()) == name_of(base))
                    })
                });
                if derives_module {
                    self.module_classes.push(class.name.to_string());
                }
            }
        }
        for stmt in body {
            match stmt {
                Stmt::Assign(assign) => {
                    let ty = self.expr(&assign.value);
                    for target in &assign.targets {
                        self.bind(target, &ty);
                    }
                }
                Stmt::AnnAssign(assign) => {
                    if let Some(value) = &assign.value {
                        let ty = self.expr(value);
                        self.bind(&assign.target, &ty);
                    }
                }
                _ => {}
            }
        }
        self.globals = std::mem::take(&mut self.env);
    }

    /// The `self.attr` types of a class, from every `self.attr = value` in its methods.
    pub(super) fn class_attributes(&mut self, body: &[Stmt]) -> HashMap<String, Ty> {
        let saved = (self.recorder.recording, std::mem::take(&mut self.env));
        self.recorder.recording = false;
        let mut attrs = HashMap::default();
        let mut placeholders = FxHashSet::default();
        for stmt in body {
            if let Stmt::FunctionDef(method) = stmt {
                self.env = HashMap::default();
                self.collect_self_assignments(&method.body, &mut attrs, &mut placeholders);
            }
        }
        // An attribute only ever set to `None` is a host value.
        for name in placeholders {
            attrs.entry(name).or_insert(Ty::Host);
        }
        self.recorder.recording = saved.0;
        self.env = saved.1;
        attrs
    }

    /// Joins the type of every `self.attr = value` in `body` into `attrs`; a
    /// `None` (`self.features = None` in `__init__`) is a placeholder for what
    /// other assignments store, not a type of its own.
    fn collect_self_assignments(
        &mut self,
        body: &[Stmt],
        attrs: &mut HashMap<String, Ty>,
        placeholders: &mut FxHashSet<String>,
    ) {
        for stmt in body {
            let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
                Stmt::Assign(a) => (a.targets.iter().collect(), Some(&a.value)),
                Stmt::AnnAssign(a) => (vec![&a.target], a.value.as_deref()),
                Stmt::If(s) => {
                    self.collect_self_assignments(&s.body, attrs, placeholders);
                    for clause in &s.elif_else_clauses {
                        self.collect_self_assignments(&clause.body, attrs, placeholders);
                    }
                    continue;
                }
                Stmt::With(w) => {
                    self.collect_self_assignments(&w.body, attrs, placeholders);
                    continue;
                }
                Stmt::Try(t) => {
                    self.collect_self_assignments(&t.body, attrs, placeholders);
                    continue;
                }
                _ => continue,
            };
            let Some(value) = value else { continue };
            let ty = self.expr(value);
            for target in targets {
                if let (Some(attr), Expr::NoneLiteral(_)) = (self_attribute(target), value) {
                    placeholders.insert(attr.to_string());
                } else if let Some(attr) = self_attribute(target) {
                    let entry = attrs.entry(attr.to_string()).or_insert_with(|| ty.clone());
                    *entry = entry.clone().join(ty.clone());
                } else {
                    self.bind(target, &ty);
                }
            }
        }
    }

    pub fn span(&self, range: TextRange) -> Span {
        self.recorder.loc(range).span
    }

    pub fn code(&self, range: TextRange) -> String {
        self.recorder.code(self.recorder.loc(range))
    }

    /// Records a call that may reach a project function (nothing during pre-passes).
    pub fn record_call(&mut self, target: CallTarget, range: TextRange, args: Vec<(ArgSlot, Ty)>) {
        let loc = self.recorder.loc(range);
        self.recorder.record_call(target, loc, args);
    }

    pub fn current_class(&self) -> Option<&ClassScope> {
        self.classes.last()
    }

    pub fn lookup(&self, name: &str) -> Ty {
        if let Some(ty) = self.env.get(name) {
            return ty.clone();
        }
        if let Some(ty) = self.globals.get(name) {
            return ty.clone();
        }
        if self.imports.get(name).is_some() {
            return Ty::Host;
        }
        Ty::UNKNOWN
    }

    /// The type of `self.member`: as this function last assigned it, else
    /// what the class's methods assign it.
    pub fn self_attribute_type(&self, member: &str) -> Ty {
        if let Some(ty) = self.env.get(&self_key(member)) {
            return ty.clone();
        }
        self.current_class()
            .and_then(|c| c.attrs.get(member))
            .cloned()
            .unwrap_or(Ty::UNKNOWN)
    }

    /// Binds an assignment target to a type (tuples unpack element-wise).
    pub fn bind(&mut self, target: &Expr, ty: &Ty) {
        match target {
            Expr::Name(name) => {
                self.env.insert(name.id.to_string(), ty.clone());
            }
            Expr::Tuple(tuple) => {
                let starred = tuple.elts.iter().any(Expr::is_starred_expr);
                for (index, elt) in tuple.elts.iter().enumerate() {
                    let element = match ty {
                        // `keep, mask = check(..)`: each element resolves through the callee's returns.
                        Ty::Unknown(Some(Origin::Return(call))) if !starred => {
                            Ty::Unknown(Some(Origin::ReturnElement {
                                call: call.clone(),
                                index,
                            }))
                        }
                        _ => element_type(ty),
                    };
                    self.bind(elt, &element);
                }
            }
            Expr::List(list) => {
                let element = element_type(ty);
                for elt in &list.elts {
                    self.bind(elt, &element);
                }
            }
            Expr::Starred(starred) => self.bind(&starred.value, &Ty::HostSeq),
            Expr::Attribute(attr) => {
                if let Some(name) = self_attribute(target) {
                    // What this function just stored is what it reads back.
                    self.env.insert(self_key(name), ty.clone());
                    if let Some(class) = self.classes.last_mut() {
                        let entry = class.attrs.entry(name.to_string()).or_insert_with(|| ty.clone());
                        if ty.is_tensor() {
                            *entry = ty.clone();
                        }
                    }
                } else {
                    let _ = attr;
                }
            }
            _ => {}
        }
    }

    /// The source text of an expression, for reasons.
    pub fn text_of(&self, node: &impl Ranged) -> String {
        self.code(node.range())
    }
}

/// The type of one element when unpacking a value of type `ty`.
pub fn element_type(ty: &Ty) -> Ty {
    match ty {
        Ty::Tensor { .. } => Ty::TENSOR,
        Ty::HostTensor => Ty::HostTensor,
        Ty::Unknown(origin) => Ty::Unknown(origin.clone()),
        // What a library returns on the host (`rows, cols = linear_sum_assignment(c)`) unpacks to host values.
        Ty::Host => Ty::Host,
        _ => Ty::UNKNOWN,
    }
}

/// The environment's key for `self.member` (no Python name has a dot).
pub fn self_key(member: &str) -> String {
    format!("self.{member}")
}

/// `self.attr` → `attr`.
pub fn self_attribute(expr: &Expr) -> Option<&str> {
    if let Expr::Attribute(attr) = expr {
        if let Expr::Name(base) = attr.value.as_ref() {
            if base.id.as_str() == "self" {
                return Some(attr.attr.as_str());
            }
        }
    }
    None
}

pub fn name_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attr) => Some(attr.attr.as_str()),
        _ => None,
    }
}
