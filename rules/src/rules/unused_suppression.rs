declare_rule! {
    /// ## What it does
    /// Flags suppression comments that no longer suppress anything: a
    /// `# d2h: ignore[D2H002]` (or `// d2h: ignore[...]` in Rust) on a line
    /// with no D2H002 finding, a `# d2h: ignore-file[D2H005]` in a file with no
    /// D2H005 finding, a `# noqa: D2H001` whose site is gone, and codes in a
    /// suppression that name no rule of the catalog. Like ruff's `RUF100`.
    ///
    /// Only codes of rules that are enabled for the file are checked: a
    /// suppression of a rule turned off by `select`, `ignore` or
    /// `per-file-ignores` is not reported. A bare `# noqa` (which suppresses
    /// every rule, of every tool) is never reported: it may be there for
    /// another linter. The finding is always **low**: a stale comment costs no
    /// transfer, only trust in the remaining suppressions.
    ///
    /// ## Why is this bad?
    /// A suppression that outlives its site rots: the next transfer someone
    /// adds on that line is silenced without review, and readers keep trusting
    /// a reason that no longer applies.
    ///
    /// ## Example
    /// ```python
    /// def process_frame(self, frame):
    ///     boxes = self.detector(frame)  # d2h: ignore[D2H001] copied once per frame for the UI
    ///     return boxes
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def process_frame(self, frame):
    ///     boxes = self.detector(frame)
    ///     return boxes
    /// ```
    pub static UNUSED_SUPPRESSION = {
        name: "unused-suppression",
        summary: "suppression comment that suppresses no finding",
        fix: {
            python: "delete the suppression comment, or the codes in it that no longer match a finding",
            rust: "delete the `// d2h: ignore[...]` comment, or the codes in it that no longer match a finding",
        },
    }
}
