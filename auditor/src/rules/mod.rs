//! Each rule's detection, one module per rule of the catalog (`d2h_rules`),
//! holding that rule's Python and Rust checks, in the manner of ruff's
//! `rules/<family>/rules/<rule>.rs`.
//!
//! The front ends walk the syntax and infer what each value is ([`Ty`](crate::model::Ty));
//! at each construct a rule may care about (a method call, a call by name, a
//! condition, an index, a formatted value, a macro argument) they hand a typed
//! view of it to every rule that checks that construct. The rule decides
//! whether it is a site and records it through the [`Recorder`](crate::facts::Recorder).
//! Which rules are reported is decided later, by the configuration
//! ([`crate::filter`]): every rule runs here.
//!
//! A rule's functions are named by language and construct:
//! `python_method_call`, `python_library_call`, `rust_path_call`...

pub(crate) mod blocking_upload;
pub(crate) mod data_dependent_shape;
pub(crate) mod explicit_copy;
pub(crate) mod explicit_sync;
pub(crate) mod host_format;
pub(crate) mod host_library;
pub(crate) mod scalar_read;
pub(crate) mod transfer_functions;

/// torch's namespaces of device management (`torch.cuda.*`, `torch.backends.*`):
/// their functions compute nothing on tensors.
fn is_torch_device_namespace(qualified: &str) -> bool {
    qualified.starts_with("torch.cuda.") || qualified.starts_with("torch.backends.")
}
