//! One module per subcommand.

pub mod adoption;
pub mod audit;
pub mod compare;
pub mod config;
pub mod docs;
#[cfg(feature = "pipeline")]
pub mod pipeline;
pub mod rules;

/// `d2h pipeline` in a build without the `pipeline` feature: a usage error
/// (exit 2) that says what is missing.
#[cfg(not(feature = "pipeline"))]
pub fn no_pipeline() -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!(
        "`d2h pipeline` is not in this build: d2h was built without the `pipeline` feature \
         (`--no-default-features`); rebuild with the default features to run the reference pipeline"
    )
}
