//! One module per subcommand.

pub mod adoption;
pub mod audit;
pub mod compare;
pub mod config;
pub mod docs;
pub mod pipeline;
pub mod rules;
