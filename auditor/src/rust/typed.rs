//! What the rules see of a Rust call: the syntax node with what the front end
//! inferred about it (the receiver's and the arguments' values, where the
//! host-side conversion chain it starts ends, whether it moves to the CPU).
//! The front end builds these views; the rules ([`crate::rules`]) read them
//! and decide whether the call is a site.

use super::analyzer::Val;
pub(crate) use super::apis;
use crate::facts::Loc;
use crate::model::Ty;

/// `recv.method(args)` on a library value (not a project type: its methods are the project's own).
pub(crate) struct MethodCall<'c> {
    pub call: &'c syn::ExprMethodCall,
    pub method: &'c str,
    pub receiver: &'c Val,
    pub args: &'c [Val],
    /// The call through the end of the host-side conversion chain it starts
    /// (`t.to_device(&cpu)?.to_vec1()` reaches `.to_vec1()`).
    pub site: Loc,
    /// The call alone, from its receiver to its closing parenthesis.
    pub call_loc: Loc,
    /// `to_device(&Device::Cpu)` / `to(Device::Cpu)` of a value not already on the host.
    pub moves_to_host: bool,
    /// The file uses a tensor library: an unknown receiver of a tensor API is a tensor.
    pub tensor_aware: bool,
    /// The value is wanted as a scalar (`let x: f64 = t.try_into()?`).
    pub expect_scalar: bool,
}

impl MethodCall<'_> {
    /// `to_device(..)` / `to(..)` with one argument: a move between devices.
    pub fn moves(&self) -> bool {
        matches!(self.method, "to_device" | "to") && self.args.len() == 1
    }

    /// A move to a device that is not the CPU.
    pub fn moves_to_device(&self) -> bool {
        self.moves() && !self.moves_to_host
    }

    /// tch's `to(Kind::Float)`: a dtype conversion, no device named.
    pub fn is_dtype_cast(&self) -> bool {
        self.method == "to" && !self.call.args.first().is_some_and(super::calls::mentions_device)
    }

    /// A read of the receiver's data copies it: a tensor, or an unknown value
    /// where the file deals with tensors (candle's method names are its own).
    pub fn reads_data(&self) -> bool {
        match &self.receiver.ty {
            Ty::Tensor { .. } => true,
            Ty::Unknown(_) => self.tensor_aware,
            _ => false,
        }
    }
}

/// `Owner::function(args)` or `function(args)`, resolved.
pub(crate) struct PathCall<'c> {
    pub call: &'c syn::ExprCall,
    /// The type or module before the last segment (`Tensor`, `f64`); empty when none.
    pub owner: &'c str,
    pub last: &'c str,
    pub args: &'c [Val],
    /// The call through the end of the host-side conversion chain it starts.
    pub site: Loc,
    /// The call alone.
    pub call_loc: Loc,
    /// An argument is the CPU device (`&Device::Cpu`).
    pub on_cpu: bool,
    /// The file uses tch alone: `Tensor::` constructors create on the CPU unless given a device.
    pub tch_only: bool,
}

impl PathCall<'_> {
    /// `T::try_from(x)` / `T::from(x)`.
    pub fn is_conversion(&self) -> bool {
        matches!(self.last, "try_from" | "from") && self.args.len() == 1
    }

    /// The first argument's value.
    pub fn first(&self) -> Val {
        self.args.first().cloned().unwrap_or_else(Val::unknown)
    }
}

/// Whether `(method, nargs)` is in a table of methods with their argument counts.
pub(crate) fn has(table: &[(&str, usize)], method: &str, nargs: usize) -> bool {
    table.iter().any(|(n, a)| *n == method && *a == nargs)
}

/// cudarc's host-to-device copies of host memory: `Some(returns a device buffer)`
/// when `recv.method(nargs arguments)` is one.
pub(crate) fn cudarc_upload(method: &str, nargs: usize, recv: &Val) -> Option<bool> {
    let (_, _, returns_buffer) = apis::CUDARC_UPLOADS
        .iter()
        .find(|(name, count, _)| *name == method && *count == nargs)?;
    if recv.is_tensor() || recv.ty == Ty::HostTensor {
        return None;
    }
    Some(*returns_buffer)
}
