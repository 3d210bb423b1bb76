declare_rule! {
    /// ## What it does
    /// Flags host-to-device copies that block the host: `torch.tensor(data,
    /// device=dev)` and `torch.as_tensor(x, device=dev)` of host data,
    /// `.to(dev)` / `.cuda()` of a host tensor (`torch.from_numpy(x).to(dev)`),
    /// `non_blocking=True` from pageable (non-pinned) memory, and a device tensor
    /// indexed with a host index (`x[torch.arange(n)]`, `x[[0, 2]]`), which uploads
    /// the index first. In Rust: candle `Tensor::new` / `from_vec` / `from_slice`
    /// onto a CUDA device and cudarc `memcpy_htod` / `clone_htod` on a hot path.
    ///
    /// Creating on the device (`torch.zeros(..., device=dev)`,
    /// `torch.arange(n, device=dev)`) moves no host data and is not flagged.
    ///
    /// ## Why is this bad?
    /// A synchronous copy from pageable memory waits for the device's queue to
    /// drain, exactly like a read-back: the host cannot queue the next kernel
    /// until the copy is done. `non_blocking=True` only helps from pinned memory;
    /// from pageable memory it is silently synchronous. Small uploads inside
    /// per-item loops add one stall per item.
    ///
    /// ## Example
    /// ```python
    /// def forward(self, x):
    ///     idx = torch.arange(x.shape[0])          # built on the host
    ///     offsets = torch.tensor([0, 1], device=x.device)
    ///     return x[idx] + offsets
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def __init__(self):
    ///     self.register_buffer("offsets", torch.tensor([0, 1]))  # once, at setup
    ///
    /// def forward(self, x):
    ///     idx = torch.arange(x.shape[0], device=x.device)
    ///     return x[idx] + self.offsets
    /// ```
    pub static BLOCKING_UPLOAD = {
        name: "blocking-upload",
        summary: "host-to-device copy that blocks the host",
        fix: {
            python: "create on the device (`torch.arange(n, device=x.device)`), upload constants once (`register_buffer`), or stage through pinned memory with `non_blocking=True`",
            rust: "create on the device (`Tensor::arange(0, n, &device)`, `Tensor::zeros(shape, dtype, &device)`), upload constants once at setup and keep the `Tensor` in the struct, or stage per-frame data in pinned memory (cudarc `alloc_pinned` + `memcpy_htod`, tch `pin_memory`) so the copy runs asynchronously",
        },
    }
}
