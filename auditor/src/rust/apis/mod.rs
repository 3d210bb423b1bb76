//! What the Rust front end knows about candle, cudarc, tch, burn and std
//! APIs, split by what the names are: crates and types, methods, transfer
//! APIs, macros.

mod macros;
mod methods;
mod transfers;
mod types;

pub use macros::*;
pub use methods::*;
pub use transfers::*;
pub use types::*;

pub fn contains(list: &[&str], name: &str) -> bool {
    list.contains(&name)
}
