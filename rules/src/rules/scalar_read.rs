declare_rule! {
    /// ## What it does
    /// Flags reads of a device value into a Python or Rust scalar: `.item()`,
    /// `float(t)`, `int(t)`, `bool(t)`, a tensor used as a condition (`if t:`,
    /// `while (t > 0).any():`, `assert t.all()`, `and` / `or` / `not`, conditional
    /// expressions), Python's `max()` / `min()` / `sum()` / `any()` / `all()` over a
    /// tensor, a 0-d tensor used as a list index, `range()` bound or slice bound
    /// (through `__index__`), `torch.equal` and `math.*` on a tensor. In Rust:
    /// candle's `to_scalar` / `to_vec0`, tch's `double_value` / `int64_value`,
    /// burn's `into_scalar`.
    ///
    /// ## Why is this bad?
    /// The value lives on the device; the host cannot branch on it until every
    /// queued kernel has run and the scalar has been copied back. Each read is a
    /// full pipeline stall, and reads inside loops stall once per iteration.
    ///
    /// ## Example
    /// ```python
    /// def forward(self, x):
    ///     scores = self.head(x)
    ///     if (scores > self.threshold).any():
    ///         self.hits += scores.max().item()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def forward(self, x):
    ///     scores = self.head(x)
    ///     keep = scores > self.threshold
    ///     self.hits += torch.where(keep, scores, 0).amax()  # stays a device tensor
    /// ```
    pub static SCALAR_READ = {
        name: "scalar-read",
        summary: "device value read into a host scalar",
        fix: {
            python: "keep the value as a 0-d device tensor and branch on the device (`torch.where`, masks); read it only behind a logging flag",
            rust: "keep the value as a 0-d `Tensor` and decide on the device: compare into a mask (`ge`, `lt`) and select with `mask.where_cond(&on_true, &on_false)` (burn: `mask_where`), reduce with `max_keepdim` / `sum_keepdim` instead of `to_scalar`; read it only behind a logging flag",
        },
    }
}
