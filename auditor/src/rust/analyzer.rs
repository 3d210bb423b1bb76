//! The Rust analyser's state: the file's facts being built, what the pre-pass
//! learned about the file (structs, `use`s, impls, declared return types),
//! the current function's scoped environment (name → [`Val`]), and the local
//! context of the code at hand.

use proc_macro2::Span as TokenSpan;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::paths::UsePath;
pub use crate::facts::Loc;
use crate::facts::{to_u32, Facts, Receiver, Recorder};
use crate::model::{ArgSlot, CallTarget, Context, Origin, Span, Ty};
use crate::policy::Policy;
use crate::source::LineIndex;

/// What the analyser is told about the file.
pub struct FileInfo<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
    /// Dotted module path of the file.
    pub module: &'a str,
    /// Dotted module path of the file's crate root (what `crate::` names).
    pub crate_root: &'a str,
    /// Test or benchmark file: the reason words ("in test code").
    pub test_kind: Option<&'static str>,
}

/// What a value is: its [`Ty`], the named type it has when that is a project
/// type (`Gate`, `Detections`), and its parts when it is a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    pub ty: Ty,
    pub of: Option<String>,
    pub parts: Option<Vec<Val>>,
}

/// A site's receiver: a value of a project type whose origin is unknown is
/// not waiting to be found a tensor (its methods are the project's own).
impl Receiver for Val {
    fn ty(&self) -> &Ty {
        &self.ty
    }

    fn pending_origin(&self) -> Option<&Origin> {
        match &self.ty {
            Ty::Unknown(Some(origin)) if self.of.is_none() => Some(origin),
            _ => None,
        }
    }
}

impl Val {
    pub fn ty(ty: Ty) -> Val {
        Val {
            ty,
            of: None,
            parts: None,
        }
    }

    pub fn host() -> Val {
        Val::ty(Ty::Host)
    }

    pub fn unknown() -> Val {
        Val::ty(Ty::UNKNOWN)
    }

    pub fn tensor() -> Val {
        Val::ty(Ty::TENSOR)
    }

    pub fn host_tensor() -> Val {
        Val::ty(Ty::HostTensor)
    }

    /// A value of the named (project) type.
    pub fn of(name: &str, ty: Ty) -> Val {
        Val {
            ty,
            of: Some(name.to_string()),
            parts: None,
        }
    }

    pub fn tuple(parts: Vec<Val>) -> Val {
        let ty = parts
            .iter()
            .map(|p| p.ty.clone())
            .reduce(join_parts)
            .unwrap_or(Ty::Host);
        Val {
            ty,
            of: None,
            parts: Some(parts),
        }
    }

    pub fn is_tensor(&self) -> bool {
        self.ty.is_tensor()
    }

    /// A value of a project type (a struct of this or another file), not library data.
    pub fn is_project_type(&self) -> bool {
        self.of.is_some() && !self.ty.is_tensor()
    }

    /// The value of one element (of a collection, an iterator, a tuple).
    pub fn element(&self) -> Val {
        match &self.ty {
            Ty::Tensor { .. } => Val::tensor(),
            Ty::HostTensor => Val::host_tensor(),
            Ty::Host | Ty::HostSeq | Ty::CpuDevice => Val::host(),
            Ty::Unknown(origin) => Val::ty(Ty::Unknown(origin.clone())),
            Ty::Module => Val::unknown(),
        }
    }

    pub fn join(self, other: Val) -> Val {
        if self == other {
            return self;
        }
        let of = if self.of == other.of { self.of.clone() } else { None };
        Val {
            ty: self.ty.join(other.ty),
            of,
            parts: None,
        }
    }
}

/// A tuple's type: a tensor if any part is, host if all are.
fn join_parts(a: Ty, b: Ty) -> Ty {
    match (&a, &b) {
        (Ty::Tensor { .. }, _) => a,
        (_, Ty::Tensor { .. }) => b,
        (Ty::Unknown(Some(_)), _) => a,
        (_, Ty::Unknown(Some(_))) => b,
        (Ty::Unknown(None), _) | (_, Ty::Unknown(None)) => Ty::UNKNOWN,
        _ => Ty::Host,
    }
}

/// Local names with block scoping: an undo log restores what a block shadowed.
#[derive(Default)]
pub struct Env {
    map: HashMap<String, Val>,
    undo: Vec<(String, Option<Val>)>,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.map.get(name)
    }

    pub fn insert(&mut self, name: String, val: Val) {
        let previous = self.map.insert(name.clone(), val);
        self.undo.push((name, previous));
    }

    pub fn mark(&self) -> usize {
        self.undo.len()
    }

    pub fn restore(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some((name, previous)) = self.undo.pop() else { break };
            match previous {
                Some(val) => self.map.insert(name, val),
                None => self.map.remove(&name),
            };
        }
    }
}

/// A struct of this file.
#[derive(Debug, Clone, Default)]
pub struct StructInfo {
    pub fields: HashMap<String, Val>,
    /// `#[derive(Debug)]` with a tensor field: `{:?}` formats the tensors.
    pub debug_formats_tensors: bool,
}

/// Which libraries the file uses, by its `use`s and paths.
#[derive(Debug, Clone, Copy, Default)]
pub struct Libraries {
    pub candle: bool,
    pub tch: bool,
    pub burn: bool,
    pub cudarc: bool,
}

impl Libraries {
    pub fn any(&self) -> bool {
        self.candle || self.tch || self.burn || self.cudarc
    }

    /// Only tch: `Tensor::` constructors create on the CPU unless given a device.
    pub fn tch_only(&self) -> bool {
        self.tch && !self.candle && !self.burn
    }
}

/// The location from the start of `start` to the end of `end`.
pub fn loc_from_spans(start: TokenSpan, end: TokenSpan) -> Loc {
    let s = start.start();
    let e = end.end();
    let (a, _) = range_of(start);
    let (_, b) = range_of(end);
    Loc {
        span: Span {
            line: to_u32(s.line),
            column: to_u32(s.column + 1),
            end_line: to_u32(e.line),
            end_column: to_u32(e.column + 1),
        },
        bytes: (a, b.max(a)),
    }
}

fn range_of(span: TokenSpan) -> (usize, usize) {
    let range = span.byte_range();
    (range.start, range.end)
}

/// The impl or trait whose methods are being analysed.
#[derive(Debug, Clone)]
pub struct ImplScope {
    /// The self type's name (`Gate`), or the trait's for default methods.
    pub ty: String,
    /// The trait implemented, if any (last segment).
    pub trait_name: Option<String>,
}

pub struct Analyzer<'a> {
    pub file: FileInfo<'a>,
    pub policy: &'a Policy,
    /// The file's facts, and the context of the code at hand.
    pub recorder: Recorder<'a>,
    /// `use` aliases → what they name.
    pub uses: HashMap<String, UsePath>,
    /// Modules declared in this file (`mod x;` and inline).
    pub declared_mods: HashSet<String>,
    pub structs: HashMap<String, StructInfo>,
    /// Field name → its type, when every struct of the file with that field agrees.
    pub field_types: HashMap<String, Val>,
    /// Types of this file that are models (`impl Module for X`, `#[derive(Module)]`).
    pub module_types: HashSet<String>,
    /// (impl type or `None`, function name) → declared return value.
    pub returns: HashMap<(Option<String>, String), Val>,
    /// Consts and statics of the file.
    pub consts: HashMap<String, Val>,
    pub libraries: Libraries,
    /// The file uses a tensor library or names `Tensor`: name-based guesses
    /// (`forward(..)` returns a tensor, `x.matmul(..)` is one) are made only then.
    pub tensor_aware: bool,
    /// Inline modules around the code at hand (`tests`).
    pub mods: Vec<String>,
    pub impl_scope: Option<ImplScope>,
    /// Generic parameters in scope, and whether their bounds mention a tensor type.
    pub generics: Vec<(String, bool)>,
    pub env: Env,
    pub depth: usize,
    /// A `let` with a scalar type annotation is being evaluated (`let x: f64 = t.try_into()?`).
    pub expect_scalar: bool,
}

impl<'a> Analyzer<'a> {
    pub fn new(file: FileInfo<'a>, policy: &'a Policy) -> Analyzer<'a> {
        let mut context = Context::default();
        if let Some(kind) = file.test_kind {
            context.cold_block = Some(kind.to_string());
        }
        Analyzer {
            policy,
            recorder: Recorder::new(file.text, file.index, policy, context),
            uses: HashMap::default(),
            declared_mods: HashSet::default(),
            structs: HashMap::default(),
            field_types: HashMap::default(),
            module_types: HashSet::default(),
            returns: HashMap::default(),
            consts: HashMap::default(),
            libraries: Libraries::default(),
            tensor_aware: false,
            mods: Vec::new(),
            impl_scope: None,
            generics: Vec::new(),
            env: Env::default(),
            depth: 0,
            expect_scalar: false,
            file,
        }
    }

    pub fn run(file: FileInfo<'a>, syntax: &syn::File, policy: &'a Policy) -> Facts {
        let mut analyzer = Analyzer::new(file, policy);
        analyzer.prepass(syntax);
        analyzer.items(&syntax.items);
        analyzer.recorder.facts
    }

    pub fn code(&self, loc: Loc) -> String {
        self.recorder.code(loc)
    }

    /// A location from byte offsets of the file.
    pub fn loc_of_bytes(&self, start: usize, end: usize) -> Loc {
        self.recorder.loc_of_bytes(start, end)
    }

    pub fn record_call(&mut self, target: CallTarget, loc: Loc, args: &[Val]) {
        let args = args
            .iter()
            .enumerate()
            .map(|(i, v)| (ArgSlot::Positional(i), v.ty.clone()));
        self.recorder.record_call(target, loc, args);
    }

    /// The module the code at hand is in, inline modules included.
    pub fn current_module(&self) -> String {
        let mut module = self.file.module.to_string();
        for m in &self.mods {
            module.push('.');
            module.push_str(m);
        }
        module
    }

    pub fn lookup(&self, name: &str) -> Option<Val> {
        self.env.get(name).or_else(|| self.consts.get(name)).cloned()
    }

    /// A struct field's value, from the struct's definition (or from any struct of the file with that field).
    pub fn field_of(&self, of: Option<&str>, field: &str) -> Option<Val> {
        if let Some(info) = of.and_then(|s| self.structs.get(s)) {
            if let Some(val) = info.fields.get(field) {
                return Some(val.clone());
            }
        }
        self.field_types.get(field).cloned()
    }

    /// Whether `name` is a model type (a library layer or a project type that implements `Module`).
    pub fn is_module_type(&self, name: &str) -> bool {
        self.module_types.contains(name) || super::apis::contains(super::apis::MODULE_TYPES, name)
    }
}
