//! `d2h rules` and `d2h rule <ID>`: the catalog in the terminal.

use std::process::ExitCode;

use anyhow::Result;
use d2h_rules::RuleId;

pub fn list() -> Result<ExitCode> {
    let width = RuleId::all().map(|id| id.name().len()).max().unwrap_or(0);
    crate::output::write_to(None, |out| {
        writeln!(out, "{:<6}  {:<width$}  summary", "code", "name")?;
        for id in RuleId::all() {
            writeln!(out, "{:<6}  {:<width$}  {}", id.code(), id.name(), id.rule().summary)?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn show(code_or_name: &str) -> Result<ExitCode> {
    let id = RuleId::lookup(code_or_name)?;
    crate::output::print(&page(id))?;
    Ok(ExitCode::SUCCESS)
}

/// A rule's full page: title, summary, the doc comment, and the fix hint in
/// every language.
pub fn page(id: RuleId) -> String {
    let rule = id.rule();
    let mut page = format!(
        "# {} {}\n\n{}.\n\n{}\n## Fix\n",
        id.code(),
        rule.name,
        capitalise(rule.summary),
        rule.page(),
    );
    for (language, hint) in rule.fix.by_language() {
        page.push_str(&format!("- {language}: {hint}.\n"));
    }
    page
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
