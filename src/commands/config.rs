//! `d2h config`: the configuration in effect, as TOML.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use d2h_auditor::config::Config;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The path whose configuration to show (the one `d2h audit PATH` would use) [default: .]
    pub path: Option<PathBuf>,
    /// Show this file's configuration instead of the nearest one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: ConfigArgs) -> Result<ExitCode> {
    let path = args.path.unwrap_or_else(|| PathBuf::from("."));
    let config = match &args.config {
        Some(file) => Config::load(file)?,
        None => Config::discover(&path)?.unwrap_or_default(),
    };
    // Globs are compiled too: what `d2h audit` would reject, `d2h config` rejects.
    config.settings()?;
    crate::output::print(&config.to_toml())?;
    Ok(ExitCode::SUCCESS)
}
