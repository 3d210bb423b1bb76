declare_rule! {
    /// ## What it does
    /// Flags operations whose output shape depends on the data, so the host
    /// must learn a count from the device before it can allocate the result:
    /// `torch.nonzero` / `.nonzero()`, `torch.where(cond)` with one argument,
    /// `masked_select`, boolean-mask indexing `x[mask]`, `unique` /
    /// `unique_consecutive`, `repeat_interleave` without `output_size`,
    /// `argwhere`, and library calls with data-dependent output sizes such as
    /// `torchvision.ops.nms` / `batched_nms`.
    ///
    /// ## Why is this bad?
    /// The allocation of the output waits for the kernel that counts the
    /// selected elements, and for everything queued before it. The sync is
    /// invisible in the source: no `.cpu()`, no `.item()`, yet the frame stalls.
    /// Data-dependent shapes also defeat CUDA graphs and `torch.compile`.
    ///
    /// ## Example
    /// ```python
    /// def postprocess(self, scores, boxes):
    ///     keep = scores > self.threshold
    ///     return boxes[keep], scores[keep]
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def postprocess(self, scores, boxes):
    ///     top_scores, idx = scores.topk(self.max_detections)  # fixed size
    ///     valid = top_scores > self.threshold                 # validity mask
    ///     return boxes[idx], top_scores, valid
    /// ```
    /// or `torch.nonzero_static(mask, size=k)` where a fixed upper bound exists.
    pub static DATA_DEPENDENT_SHAPE = {
        name: "data-dependent-shape",
        summary: "operation whose output shape depends on device data",
        fix: {
            python: "use fixed-size outputs: `topk` plus a validity mask, `nonzero_static(size=k)`, `torch.where(cond, a, b)`, `repeat_interleave(..., output_size=n)`",
            rust: "use fixed-size outputs: `arg_sort_last_dim` then `narrow` to the top k plus a validity mask, `mask.where_cond(&x, &zeros)` instead of filtering, `index_select` / `gather` with device-side indices (tch: `topk`, `where_self`)",
        },
    }
}
