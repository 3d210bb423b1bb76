//! One module per subcommand.

pub mod audit;
pub mod compare;
pub mod pipeline;
pub mod rules;
