//! The d2h rule catalog.
//!
//! Every device-to-host transfer or host sync that d2h reports, statically or at
//! run time, carries one of these rules. Each rule lives in its own file under
//! [`rules`] with a ruff-style page (What it does / Why is this bad? / Example /
//! Use instead) written as its doc comment, and a fix hint per language. The
//! codes (`D2H001`, ...) are assigned in exactly one place, the list below: it
//! declares the rule modules and generates [`RuleId`] with its code and page
//! tables, so adding a rule is its file plus one line here. Severity is not a
//! property of a rule: it is derived from where the site stands (hot path,
//! guarded, cold), which is why [`Severity`] lives here as the shared scale; [`Confidence`]
//! (how sure a site is to transfer) is its separate companion.

#[macro_use]
mod declare;
#[macro_use]
pub mod registry;
mod confidence;
mod language;
mod severity;

pub use confidence::{Confidence, ParseConfidenceError};
pub use declare::{Fix, Rule};
pub use language::Language;
pub use registry::UnknownRule;
pub use severity::{ParseSeverityError, Severity};

catalog! {
    // code   variant                   rule file :: its page
    D2H001 ExplicitCopy             explicit_copy::EXPLICIT_COPY,
    D2H002 ScalarRead               scalar_read::SCALAR_READ,
    D2H003 DataDependentShape       data_dependent_shape::DATA_DEPENDENT_SHAPE,
    D2H004 ExplicitSync             explicit_sync::EXPLICIT_SYNC,
    D2H005 HostFormat               host_format::HOST_FORMAT,
    D2H006 HostLibrary              host_library::HOST_LIBRARY,
    D2H007 BlockingUpload           blocking_upload::BLOCKING_UPLOAD,
    // D2H9xx: rules about d2h's own suppression comments.
    D2H901 UnusedSuppression        unused_suppression::UNUSED_SUPPRESSION,
    D2H902 MissingSuppressionReason missing_suppression_reason::MISSING_SUPPRESSION_REASON,
}
