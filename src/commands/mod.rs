//! One module per subcommand.

pub mod audit;
pub mod pipeline;
pub mod rules;
