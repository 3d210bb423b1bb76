declare_rule! {
    /// ## What it does
    /// Flags explicit host-device synchronisation: `torch.cuda.synchronize()`,
    /// `stream.synchronize()`, `event.synchronize()`,
    /// `torch.cuda.current_stream().synchronize()`, `torch.cuda.empty_cache()`,
    /// `torch.distributed.barrier()`, and calls to the project's own helpers that
    /// wrap them. In Rust: cudarc's `stream.synchronize()` / `ctx.synchronize()` /
    /// `event.synchronize()`, candle's `device.synchronize()`.
    ///
    /// PyTorch's sync debug mode (`torch.cuda.set_sync_debug_mode`) does not
    /// report most of these, so they survive runtime checks.
    ///
    /// ## Why is this bad?
    /// The host blocks until the device has drained its queue, so the next
    /// frame's work cannot be queued while this one finishes: CPU and GPU stop
    /// overlapping. `empty_cache` also returns memory the allocator will have
    /// to request again, often in the next frame.
    ///
    /// ## Example
    /// ```python
    /// def process_frame(self, frame):
    ///     out = self.model(frame)
    ///     torch.cuda.synchronize()
    ///     return out
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def process_frame(self, frame):
    ///     out = self.model(frame)
    ///     if self.enable_detailed_logging:
    ///         self.end_event.record()  # read the events only when logging
    ///     return out
    /// ```
    pub static EXPLICIT_SYNC = {
        name: "explicit-sync",
        summary: "explicit host-device synchronisation",
        fix: {
            python: "drop the sync from the frame path; time with CUDA events read behind a logging flag; order work with streams and events instead",
            rust: "drop the sync from the frame path: time with CUDA events (cudarc `record_event`, `elapsed_ms`) read behind a logging flag; order work across streams with `stream.wait(&event)` instead of `synchronize()`",
        },
    }
}
