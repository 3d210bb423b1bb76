//! What the rules see of a Python call: the syntax node with what the front
//! end inferred about it (the receiver's and the arguments' types, where the
//! host-side conversion chain it starts ends, whether it moves to the host).
//! The front end builds these views; the rules ([`crate::rules`]) read them
//! and decide whether the call is a site.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::TextRange;

use crate::model::{ArgSlot, Ty};

/// A call's arguments, typed, with their ranges.
pub(crate) struct Args {
    pub positional: Vec<(Ty, TextRange)>,
    pub keywords: Vec<(String, Ty, TextRange)>,
}

impl Args {
    pub fn keyword(&self, name: &str) -> Option<&(String, Ty, TextRange)> {
        self.keywords.iter().find(|(k, _, _)| k == name)
    }

    pub fn has_keyword(&self, name: &str) -> bool {
        self.keyword(name).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.keywords.is_empty()
    }

    pub fn first(&self) -> Option<&Ty> {
        self.positional.first().map(|(ty, _)| ty)
    }

    /// Positional, then keyword arguments.
    pub fn all(&self) -> impl Iterator<Item = (&Ty, TextRange)> {
        self.positional
            .iter()
            .map(|(t, r)| (t, *r))
            .chain(self.keywords.iter().map(|(_, t, r)| (t, *r)))
    }

    /// Every tensor argument is known to be on the host (and there is one).
    pub fn all_host(&self) -> bool {
        self.all()
            .filter(|(t, _)| t.is_tensor() || **t == Ty::HostTensor)
            .all(|(t, _)| *t == Ty::HostTensor)
            && self.all().any(|(t, _)| *t == Ty::HostTensor)
    }

    pub fn slots(&self) -> Vec<(ArgSlot, Ty)> {
        let positional = self
            .positional
            .iter()
            .enumerate()
            .map(|(i, (ty, _))| (ArgSlot::Positional(i), ty.clone()));
        let keywords = self
            .keywords
            .iter()
            .map(|(k, ty, _)| (ArgSlot::Keyword(k.clone()), ty.clone()));
        positional.chain(keywords).collect()
    }
}

/// `receiver.method(args)` on a receiver other than `self`.
pub(crate) struct MethodCall<'c> {
    pub call: &'c ast::ExprCall,
    pub method: &'c str,
    pub receiver: &'c Ty,
    pub receiver_expr: &'c Expr,
    pub args: &'c Args,
    /// The call through the end of the host-side conversion chain it starts
    /// (`x.cpu()` in `x.cpu().numpy()` reaches `.numpy()`).
    pub site: TextRange,
    /// `.cpu()`, `.to("cpu")`, `.to(cpu_device)`: the result is on the host.
    pub moves_to_host: bool,
    /// `.to(torch.float16)`: only the dtype changes.
    pub dtype_only: bool,
    /// The receiver is pinned host memory.
    pub receiver_pinned: bool,
    /// The receiver is an AMP `GradScaler` (`scaler = torch.amp.GradScaler()`).
    pub receiver_grad_scaler: bool,
}

/// Where a tensor creation puts its tensor, by its `device=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device {
    /// No `device=`: torch creates on the CPU.
    Absent,
    Cpu,
    /// A device that is not the CPU (or not known to be).
    Accelerator,
}

/// A call of a function by name: a builtin (`float(t)`), a library function
/// (`torch.nonzero(x)`, `np.asarray(t)`), or a project function.
pub(crate) struct FunctionCall<'c> {
    pub call: &'c ast::ExprCall,
    /// The qualified name (`torch.nonzero`, `numpy.asarray`), or the builtin's name.
    pub qualified: &'c str,
    pub args: &'c Args,
    /// The call through the end of the host-side conversion chain it starts.
    pub site: TextRange,
    /// What its `device=` argument names.
    pub device: Device,
}

impl FunctionCall<'_> {
    /// The first component of the name (`torch`, `numpy`).
    pub fn root(&self) -> &str {
        self.qualified.split('.').next().unwrap_or("")
    }

    /// The last component of the name (`nonzero`).
    pub fn last(&self) -> &str {
        self.qualified.rsplit('.').next().unwrap_or("")
    }
}
