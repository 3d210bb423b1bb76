//! The d2h rule catalog.
//!
//! Every device-to-host transfer or host sync that d2h reports, statically or at
//! run time, carries one of these rules. Each rule lives in its own file under
//! [`rules`] with a ruff-style page (What it does / Why is this bad? / Example /
//! Use instead) written as its doc comment; the codes (`D2H001`, ...) are
//! assigned in exactly one place, the [`registry`] table. Severity is not a
//! property of a rule: it is derived from where the site stands (hot path,
//! guarded, cold), which is why [`Severity`] lives here as the shared scale.

#[macro_use]
mod declare;
pub mod registry;
pub mod rules;
mod severity;

pub use declare::Rule;
pub use registry::{RuleId, UnknownRule};
pub use severity::{ParseSeverityError, Severity};
