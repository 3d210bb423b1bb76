//! The analyser's state: the file's facts being built, the current function's
//! environment (name → [`Ty`]), and the local context of the statement at hand.

use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use d2h_rules::RuleId;
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::imports::Imports;
use crate::model::{ArgSlot, CallSite, CallTarget, Certainty, Context, FunctionFacts, Site, Span, Ty};
use crate::policy::Policy;
use crate::source::{one_line, LineIndex};

/// Expressions nested deeper than this are not analysed (Python's own parser stops far earlier).
pub const MAX_EXPR_DEPTH: usize = 500;

/// What the analyser produces for a file.
pub struct Output {
    /// Where an expression nested deeper than [`MAX_EXPR_DEPTH`] was met, if anywhere.
    pub too_deep_at: Option<usize>,
    pub functions: Vec<FunctionFacts>,
    pub sites: Vec<Site>,
    pub calls: Vec<CallSite>,
}

/// The class being analysed.
pub(super) struct ClassScope {
    pub name: String,
    /// `self.attr` → its type, from assignments anywhere in the class.
    pub attrs: HashMap<String, Ty>,
    /// Attributes holding pinned host memory.
    pub pinned: FxHashSet<String>,
}

pub(crate) struct Analyzer<'a> {
    pub text: &'a str,
    pub index: LineIndex,
    pub policy: &'a Policy,
    pub imports: Imports,
    pub out: Output,
    /// When false (pre-passes), nothing is recorded.
    pub recording: bool,
    /// Local names of the current function (or module) → type.
    pub env: HashMap<String, Ty>,
    /// Local names bound to pinned host memory.
    pub pinned: FxHashSet<String>,
    /// Module-level names → type.
    pub globals: HashMap<String, Ty>,
    /// Classes defined in this file that derive from a torch module.
    pub module_classes: Vec<String>,
    pub classes: Vec<ClassScope>,
    pub context: Context,
    last_context: Arc<Context>,
    /// How deep the expression walk is, to stop before the stack does.
    pub depth: usize,
    /// The current function's return type so far.
    pub returns: Option<Ty>,
}

impl<'a> Analyzer<'a> {
    pub fn run(
        path: &str,
        module: &'a str,
        is_package: bool,
        is_test: bool,
        text: &'a str,
        body: &[Stmt],
        policy: &'a Policy,
    ) -> Output {
        let _ = path;
        let mut analyzer = Analyzer {
            text,
            index: LineIndex::new(text),
            policy,
            imports: Imports::collect(body, module, is_package),
            out: Output {
                too_deep_at: None,
                functions: Vec::new(),
                sites: Vec::new(),
                calls: Vec::new(),
            },
            recording: false,
            env: HashMap::default(),
            pinned: FxHashSet::default(),
            globals: HashMap::default(),
            module_classes: Vec::new(),
            classes: Vec::new(),
            context: Context::default(),
            last_context: Arc::new(Context::default()),
            returns: None,
            depth: 0,
        };
        if is_test {
            analyzer.context.cold_block = Some("in test code".to_string());
        }
        // Pre-pass: module-level names and torch module classes, without recording.
        analyzer.prepass_module(body);
        analyzer.recording = true;
        analyzer.env = HashMap::default();
        analyzer.block(body);
        analyzer.out
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
        let saved = (self.recording, std::mem::take(&mut self.env));
        self.recording = false;
        let mut attrs = HashMap::default();
        for stmt in body {
            if let Stmt::FunctionDef(method) = stmt {
                self.env = HashMap::default();
                self.collect_self_assignments(&method.body, &mut attrs);
            }
        }
        self.recording = saved.0;
        self.env = saved.1;
        attrs
    }

    fn collect_self_assignments(&mut self, body: &[Stmt], attrs: &mut HashMap<String, Ty>) {
        for stmt in body {
            let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
                Stmt::Assign(a) => (a.targets.iter().collect(), Some(&a.value)),
                Stmt::AnnAssign(a) => (vec![&a.target], a.value.as_deref()),
                Stmt::If(s) => {
                    self.collect_self_assignments(&s.body, attrs);
                    for clause in &s.elif_else_clauses {
                        self.collect_self_assignments(&clause.body, attrs);
                    }
                    continue;
                }
                Stmt::With(w) => {
                    self.collect_self_assignments(&w.body, attrs);
                    continue;
                }
                Stmt::Try(t) => {
                    self.collect_self_assignments(&t.body, attrs);
                    continue;
                }
                _ => continue,
            };
            let Some(value) = value else { continue };
            let ty = self.expr(value);
            for target in targets {
                if let Some(attr) = self_attribute(target) {
                    let entry = attrs.entry(attr.to_string()).or_insert_with(|| ty.clone());
                    *entry = entry.clone().join(ty.clone());
                } else {
                    self.bind(target, &ty);
                }
            }
        }
    }

    pub fn span(&self, range: TextRange) -> Span {
        let (line, column) = self.index.position(self.text, range.start().to_usize());
        let (end_line, end_column) = self.index.position(self.text, range.end().to_usize());
        Span {
            line,
            column,
            end_line,
            end_column,
        }
    }

    pub fn code(&self, range: TextRange) -> String {
        one_line(&self.text[range.start().to_usize()..range.end().to_usize()])
    }

    /// Records a site at `range` (nothing during pre-passes).
    pub fn site(&mut self, rule: RuleId, range: TextRange, certainty: Certainty, note: Option<String>) {
        if !self.recording {
            return;
        }
        let context = self.shared_context();
        self.out.sites.push(Site {
            rule,
            span: self.span(range),
            code: self.code(range),
            context,
            certainty,
            note,
            moves_module: false,
        });
    }

    /// Records a site whose receiver has type `ty`: known tensors are reported,
    /// unknown values with an origin wait for the project pass, the rest is dropped.
    pub fn site_if_tensor(&mut self, rule: RuleId, range: TextRange, ty: &Ty, note: Option<String>) {
        match ty {
            Ty::Tensor { .. } => self.site(rule, range, Certainty::Known, note),
            Ty::Unknown(Some(origin)) => self.site(
                rule,
                range,
                Certainty::Pending {
                    origin: origin.clone(),
                    fallback: None,
                },
                note,
            ),
            _ => {}
        }
    }

    /// Records a site whose API exists on tensors and on host types alike
    /// (`.item()`, `.tolist()`): unknown receivers are reported low, saying so.
    pub fn site_ambiguous(&mut self, rule: RuleId, range: TextRange, ty: &Ty, api: &str) {
        let note = format!("receiver not known to be a tensor (`{api}` also exists on numpy arrays)");
        match ty {
            Ty::Tensor { .. } => self.site(rule, range, Certainty::Known, None),
            Ty::Unknown(Some(origin)) => self.site(
                rule,
                range,
                Certainty::Pending {
                    origin: origin.clone(),
                    fallback: Some(note),
                },
                None,
            ),
            Ty::Unknown(None) => self.site(rule, range, Certainty::Uncertain(note), None),
            _ => {}
        }
    }

    pub fn record_call(&mut self, target: CallTarget, range: TextRange, args: Vec<(ArgSlot, Ty)>) {
        if !self.recording {
            return;
        }
        let context = self.shared_context();
        self.out.calls.push(CallSite {
            target,
            span: self.span(range),
            range: (range.start().to_u32(), range.end().to_u32()),
            context,
            args: args
                .into_iter()
                .filter(|(_, ty)| ty.is_tensor() || matches!(ty, Ty::Unknown(Some(_))))
                .collect(),
        });
    }

    /// The current context, shared with the previous record when it has not changed.
    fn shared_context(&mut self) -> Arc<Context> {
        if *self.last_context != self.context {
            self.last_context = Arc::new(self.context.clone());
        }
        Arc::clone(&self.last_context)
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

    /// Binds an assignment target to a type (tuples unpack element-wise).
    pub fn bind(&mut self, target: &Expr, ty: &Ty) {
        match target {
            Expr::Name(name) => {
                self.env.insert(name.id.to_string(), ty.clone());
            }
            Expr::Tuple(tuple) => {
                let element = element_type(ty);
                for elt in &tuple.elts {
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
        Ty::Module => Ty::UNKNOWN,
        _ => Ty::UNKNOWN,
    }
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
