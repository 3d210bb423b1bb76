//! One file per rule; each file's doc comment is the rule's page.

pub mod blocking_upload;
pub mod data_dependent_shape;
pub mod explicit_copy;
pub mod explicit_sync;
pub mod host_format;
pub mod host_library;
pub mod missing_suppression_reason;
pub mod scalar_read;
pub mod unused_suppression;
