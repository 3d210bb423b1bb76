declare_rule! {
    /// ## What it does
    /// With `require-reason = true` in the configuration, flags suppression
    /// comments that give no reason: `# d2h: ignore[D2H002]` with nothing
    /// after the codes, `# d2h: ignore-file[D2H005]`, a `# noqa: D2H001` with
    /// no text after its codes, and a bare `# noqa` that silences a d2h
    /// finding. The reason is the free text after the closing bracket (a
    /// leading `--`, `-`, `:` or `—` is allowed).
    ///
    /// The finding is **medium**: the suppressed transfer still happens, and
    /// nobody reviewing the code can tell whether it was meant to. It does not
    /// fail the default gate (`--fail-on critical`); `--fail-on medium` or
    /// `--max-medium 0` makes it blocking. The suppression still suppresses.
    ///
    /// ## Why is this bad?
    /// A device-to-host copy is sometimes right — once per epoch, for a
    /// metric, at the edge of the pipeline — but only its author knows why.
    /// Without the reason, the next reader cannot tell an intended transfer
    /// from one silenced to make CI pass.
    ///
    /// ## Example
    /// ```python
    /// def training_step(self, batch):
    ///     loss = self.model(batch)
    ///     self.history.append(loss.item())  # d2h: ignore[D2H002]
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def training_step(self, batch):
    ///     loss = self.model(batch)
    ///     self.history.append(loss.item())  # d2h: ignore[D2H002] one scalar per step for the progress bar
    /// ```
    pub static MISSING_SUPPRESSION_REASON = {
        name: "missing-suppression-reason",
        summary: "suppression comment without a reason",
        fix: {
            python: "say after the codes why the transfer is intended: `# d2h: ignore[D2H002] one scalar per epoch for the logger`",
            rust: "say after the codes why the transfer is intended: `// d2h: ignore[D2H002] one scalar per epoch for the logger`",
        },
    }
}
