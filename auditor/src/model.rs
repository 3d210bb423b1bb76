//! The language-neutral facts a front end extracts from one file: functions,
//! candidate sites with their local context, and call sites. The project pass
//! ([`crate::project`]) joins them across files into a call graph and decides
//! each site's severity.

use std::sync::Arc;

use d2h_rules::RuleId;

/// What a value is, as far as a front end can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Not known here; may be resolved later through its origin.
    Unknown(Option<Origin>),
    /// A tensor that may live on the device (the default for tensors).
    Tensor { mask: bool, scalar: bool },
    /// A tensor known to be on the host (created without `device=`, or moved by `.cpu()`).
    HostTensor,
    /// A host value: numpy array, Python scalar, string, dict...
    Host,
    /// A Python list/tuple (a tensor index into it goes through `__index__`).
    HostSeq,
    /// A model / module object.
    Module,
    /// A CPU device object (`torch.device("cpu")`, `Device::Cpu`).
    CpuDevice,
}

impl Ty {
    pub const UNKNOWN: Ty = Ty::Unknown(None);
    pub const TENSOR: Ty = Ty::Tensor {
        mask: false,
        scalar: false,
    };
    pub const MASK: Ty = Ty::Tensor {
        mask: true,
        scalar: false,
    };
    pub const SCALAR: Ty = Ty::Tensor {
        mask: false,
        scalar: true,
    };

    pub fn is_tensor(&self) -> bool {
        matches!(self, Ty::Tensor { .. })
    }

    pub fn is_mask(&self) -> bool {
        matches!(self, Ty::Tensor { mask: true, .. })
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown(_))
    }

    /// Host data: nothing to copy.
    pub fn is_host(&self) -> bool {
        matches!(self, Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice)
    }

    /// The join of two branches' types (used for `a if c else b`).
    pub fn join(self, other: Ty) -> Ty {
        match (&self, &other) {
            (a, b) if a == b => self,
            (Ty::Tensor { .. }, _) => self,
            (_, Ty::Tensor { .. }) => other,
            (Ty::Unknown(_), _) => other,
            _ => self,
        }
    }
}

/// Where an unknown value came from, so the project pass can resolve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A parameter of a function of this file (by index in [`FileFacts::functions`]).
    Param { function: usize, name: String },
    /// The result of a call.
    Return(CallTarget),
    /// One element of a call's result unpacked (`keep, mask = check(..)`: element 1).
    ReturnElement { call: CallTarget, index: usize },
}

/// What a call refers to, before project-wide resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// A plain name: `foo()`, with the module it was imported from, if any.
    Name {
        name: String,
        imported_from: Option<String>,
    },
    /// `self.m()` / `Self::m()` inside a class or impl.
    SelfMethod { class: String, method: String },
    /// `obj.m()` on another receiver.
    Method { method: String },
    /// `recv.m()` where `recv` is the result of another call
    /// (`self.detector.postprocess().forward_to_host(..)`): linked to `m` of
    /// the project type that call's callee declares it returns, else by name.
    MethodOfResult { receiver: Box<CallTarget>, method: String },
    /// `module.f()` where `module` is an imported project module.
    ModuleAttr { module: String, name: String },
}

impl CallTarget {
    /// The called name, for messages.
    pub fn name(&self) -> &str {
        match self {
            CallTarget::Name { name, .. } | CallTarget::ModuleAttr { name, .. } => name,
            CallTarget::SelfMethod { method, .. }
            | CallTarget::Method { method }
            | CallTarget::MethodOfResult { method, .. } => method,
        }
    }

    /// How many calls deep a [`CallTarget::MethodOfResult`] chain is (1 for any other target).
    pub fn depth(&self) -> usize {
        match self {
            CallTarget::MethodOfResult { receiver, .. } => 1 + receiver.depth(),
            _ => 1,
        }
    }
}

/// One function (or method) of a file.
#[derive(Debug, Clone)]
pub struct FunctionFacts {
    pub name: String,
    /// `Class.method`, `outer.inner` or `function`.
    pub qualname: String,
    pub class: Option<String>,
    /// Parameter names in order (including `self` for methods).
    pub params: Vec<String>,
    /// Whether the first parameter is a receiver (`self`/`cls`) not passed positionally.
    pub has_receiver: bool,
    /// Why it is a hot root, if it is one.
    pub hot_root: Option<String>,
    /// What kind of cold function it is (setup, load/save, formatting...), if any.
    pub cold: Option<String>,
    /// The type of what it returns.
    pub returns: Ty,
    /// The project type it declares it returns (`Result<HostDetections>`:
    /// `HostDetections`), for linking method calls on its result.
    pub returns_type: Option<String>,
    /// The lines (first, last) of the frame loops in its own body: loops over
    /// a data source, or that call a model on something other than the
    /// module's own layers. Code of the function outside them runs once per call.
    pub frame_loops: Vec<(u32, u32)>,
    /// The type of each element when every `return` gives a tuple of one length
    /// (`return keep, mask`); empty otherwise.
    pub returns_elements: Vec<Ty>,
}

/// The loop a site or call stands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopContext {
    pub line: u32,
    /// The model-like call in the loop body that makes it a frame loop, if any.
    pub calls_model: Option<String>,
}

/// Where a site or call stands inside its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Index into [`FileFacts::functions`]; `None` at module level.
    pub function: Option<usize>,
    /// The debug/logging condition guarding it, as source text.
    pub guard: Option<String>,
    /// Inside an `except` handler or other error path (what kind).
    pub error_path: Option<String>,
    /// Under `if __name__ == "__main__":` or in test code.
    pub cold_block: Option<String>,
    /// The innermost enclosing loop.
    pub in_loop: Option<LoopContext>,
    /// Code that runs once per call or once per object, not every time its
    /// function does (a lazy initialisation `if self.x is None:`): why.
    /// Medium at most; its calls do not carry hotness.
    pub once: Option<String>,
}

impl Context {
    /// Calls made here propagate hotness only when nothing local makes them cold.
    pub fn propagates(&self) -> bool {
        self.guard.is_none() && self.error_path.is_none() && self.cold_block.is_none() && self.once.is_none()
    }
}

/// How sure the front end is that the site really transfers. The project
/// pass turns it into the finding's confidence; it never lowers severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certainty {
    /// The receiver is a device tensor (or the API always syncs): `certain`.
    Known,
    /// Reported only if `origin` resolves to a tensor (`likely`: inferred
    /// through the call graph); `fallback` says what to report (`possible`,
    /// with that note) when it does not.
    Pending { origin: Origin, fallback: Option<String> },
    /// Reported `possible`, with this note on what is unknown.
    Uncertain(String),
}

/// 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// A candidate transfer site.
#[derive(Debug, Clone)]
pub struct Site {
    pub rule: RuleId,
    pub span: Span,
    pub code: String,
    pub context: Arc<Context>,
    pub certainty: Certainty,
    /// An extra word for the reason ("moves a module's parameters").
    pub note: Option<String>,
    /// The site moves a module's parameters, not a tensor: low at most.
    pub moves_module: bool,
}

/// A call of something that may be a project function.
#[derive(Debug, Clone)]
pub struct CallSite {
    pub target: CallTarget,
    pub span: Span,
    /// Byte offsets of the call in the file (its code is read back only when needed).
    pub range: (u32, u32),
    /// Shared between the calls and sites of one context.
    pub context: Arc<Context>,
    /// The types of the arguments that may be tensors (others cannot resolve a parameter).
    pub args: Vec<(ArgSlot, Ty)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgSlot {
    Positional(usize),
    Keyword(String),
}

/// Everything a front end learned about one file.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Relative to the audit root, `/`-separated.
    pub path: String,
    /// Dotted module path (`pkg.sub.mod`).
    pub module: String,
    pub is_test: bool,
    pub functions: Vec<FunctionFacts>,
    /// The classes the file defines, with the names of their bases.
    pub classes: Vec<ClassFacts>,
    pub sites: Vec<Site>,
    pub calls: Vec<CallSite>,
}

/// A class and the names it derives from (`class Head(nn.Module)`: `Module`),
/// so a call of `self.m()` in a base class reaches the subclasses' `m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassFacts {
    /// As methods name it in [`FunctionFacts::class`] (`Outer.Inner` when nested).
    pub name: String,
    /// The last segment of each base (`nn.Module` → `Module`).
    pub bases: Vec<String>,
}
