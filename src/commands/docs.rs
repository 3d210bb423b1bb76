//! `d2h docs`: the rule pages under `docs/rules/`, generated from the catalog
//! (the same text `d2h rule <ID>` prints), and `--check` for CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use d2h_rules::RuleId;

use super::rules::page;

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// The directory of the pages.
    #[arg(default_value = "docs/rules")]
    pub dir: PathBuf,
    /// Write nothing; exit 1 when a page is missing, stale or not from the catalog.
    #[arg(long)]
    pub check: bool,
}

/// Every generated file: (file name, text). `README.md` is the index.
pub fn pages() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = RuleId::all()
        .map(|id| (format!("{}.md", id.code()), page(id)))
        .collect();
    let mut index = String::from(
        "# d2h rules\n\nGenerated from the rule catalog by `d2h docs`; do not edit by hand \
         (`d2h rule <CODE>` prints the same page).\n\n| code | name | summary |\n|---|---|---|\n",
    );
    for id in RuleId::all() {
        index.push_str(&format!(
            "| [{code}]({code}.md) | {} | {} |\n",
            id.name(),
            id.rule().summary,
            code = id.code()
        ));
    }
    files.push(("README.md".to_string(), index));
    files
}

/// The differences between `dir` and the generated pages, in words.
pub fn stale(dir: &Path) -> Vec<String> {
    let generated = pages();
    let mut problems = Vec::new();
    for (name, text) in &generated {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => problems.push(format!("{name} is stale")),
            Err(_) => problems.push(format!("{name} is missing")),
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md") && !generated.iter().any(|(g, _)| g == n))
            .collect();
        extra.sort();
        problems.extend(extra.into_iter().map(|n| format!("{n} is not a rule of the catalog")));
    }
    problems
}

pub fn run(args: DocsArgs) -> Result<ExitCode> {
    if args.check {
        let problems = stale(&args.dir);
        if problems.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        for problem in &problems {
            eprintln!("d2h: {}: {problem}", args.dir.display());
        }
        eprintln!("d2h: run `d2h docs {}` to regenerate the pages", args.dir.display());
        return Ok(ExitCode::from(1));
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let generated = pages();
    for (name, text) in &generated {
        let path = args.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("d2h: wrote {} pages to {}", generated.len(), args.dir.display());
    Ok(ExitCode::SUCCESS)
}
