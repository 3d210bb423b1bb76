//! `d2h`: hunts device-to-host transfers and hidden syncs in ML code.
//!
//! The binary is thin: it parses arguments, calls the library crates, and is
//! the only place that writes to the terminal or to files.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod commands;
mod output;
mod progress;

#[global_allocator]
static GLOBAL: d2h_pipeline::alloc::CountingAlloc<std::alloc::System> =
    d2h_pipeline::alloc::CountingAlloc::new(std::alloc::System);

#[derive(Debug, Parser)]
#[command(
    name = "d2h",
    version,
    about = "Hunts device-to-host transfers and hidden syncs in ML code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit Python and Rust sources for device-to-host transfers and syncs.
    Audit(commands::audit::AuditArgs),
    /// Run the reference pipeline and report its runtime transfers.
    Pipeline(commands::pipeline::PipelineArgs),
    /// Compare a static report with a runtime report.
    Compare(commands::compare::CompareArgs),
    /// List the rule catalog.
    Rules,
    /// Print one rule's page (`d2h rule D2H003` or `d2h rule data-dependent-shape`).
    Rule {
        /// A rule code or name.
        rule: String,
    },
    /// Print the configuration in effect for a path (TOML).
    Config(commands::config::ConfigArgs),
    /// Write the rule pages (docs/rules/*.md) from the catalog, or check them.
    Docs(commands::docs::DocsArgs),
}

/// Exit codes: 0 when the gate holds, 1 when it fails, 2 on usage or I/O errors.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(args) => commands::audit::run(args),
        Command::Pipeline(args) => commands::pipeline::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Rules => commands::rules::list(),
        Command::Rule { rule } => commands::rules::show(&rule),
        Command::Config(args) => commands::config::run(args),
        Command::Docs(args) => commands::docs::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("d2h: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
