//! `d2h`: hunts device-to-host transfers and hidden syncs in ML code.
//!
//! The binary is thin: it parses arguments, calls the library crates, and is
//! the only place that writes to the terminal or to files (through
//! [`output`]). The reference pipeline and its counting allocator are in the
//! build with the `pipeline` feature (on by default); without it the binary is
//! the auditor alone and has no candle in it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod commands;
mod output;
mod progress;

/// Counts host allocations for `d2h pipeline run`'s memory figures; off
/// (one relaxed load per allocation) in every other command.
#[cfg(feature = "pipeline")]
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
    #[cfg(feature = "pipeline")]
    Pipeline(commands::pipeline::PipelineArgs),
    /// Not in this build: says so (see `commands::no_pipeline`).
    #[cfg(not(feature = "pipeline"))]
    #[command(hide = true, disable_help_flag = true)]
    Pipeline {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
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
    // Counting starts with `d2h pipeline run`, and only there.
    #[cfg(feature = "pipeline")]
    d2h_pipeline::alloc::set_counting(false);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(args) => commands::audit::run(args),
        #[cfg(feature = "pipeline")]
        Command::Pipeline(args) => commands::pipeline::run(args),
        #[cfg(not(feature = "pipeline"))]
        Command::Pipeline { .. } => commands::no_pipeline(),
        Command::Compare(args) => commands::compare::run(args),
        Command::Rules => commands::rules::list(),
        Command::Rule { rule } => commands::rules::show(&rule),
        Command::Config(args) => commands::config::run(args),
        Command::Docs(args) => commands::docs::run(args),
    };
    match result {
        Ok(code) => code,
        // `d2h ... | head`: the reader has what it wanted.
        Err(err) if output::is_stdout_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("d2h: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
