declare_rule! {
    /// ## What it does
    /// Flags device tensors printed, formatted or logged: `print(t)`, an
    /// f-string or `str.format` / `%` interpolation of a tensor, `str(t)` /
    /// `repr(t)`, a tensor passed to a logger. In Rust: a tensor passed to
    /// `println!`, `format!`, `write!`, `log` / `tracing` macros or a
    /// `panic!` / `assert!` message through `{}` or `{:?}`, and tch's `t.print()`.
    ///
    /// ## Why is this bad?
    /// Formatting a tensor copies its data to the host to render the digits. The
    /// copy hides inside a log line, often one that runs every frame even when
    /// nobody reads the log: the logger formats the message before deciding to
    /// drop it when the f-string is built eagerly.
    ///
    /// ## Example
    /// ```python
    /// def process_frame(self, frame):
    ///     boxes = self.detector(frame)
    ///     logger.debug(f"boxes: {boxes}")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def process_frame(self, frame):
    ///     boxes = self.detector(frame)
    ///     if self.enable_detailed_logging:
    ///         logger.debug("boxes: %s", boxes.shape)
    /// ```
    pub static HOST_FORMAT = {
        name: "host-format",
        summary: "device tensor formatted for printing or logging",
        fix: {
            python: "log shapes or dtypes instead of values, or guard the log line with a logging flag (`if self.enable_detailed_logging:`)",
            rust: "format `t.shape()`, `t.dtype()` or `t.device()` instead of the tensor (`{}` of a candle `Tensor` copies every value to the host), or put the line behind a logging flag (`if tracing::enabled!(Level::DEBUG)`, `log::log_enabled!`)",
        },
    }
}
