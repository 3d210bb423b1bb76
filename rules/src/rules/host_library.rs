declare_rule! {
    /// ## What it does
    /// Flags device tensors handed to host libraries that convert their inputs
    /// through `__array__`: numpy functions, scipy (for example
    /// `scipy.optimize.linear_sum_assignment(cost)`), OpenCV (`cv2.*`), PIL
    /// (`Image.fromarray`) and matplotlib.
    ///
    /// ## Why is this bad?
    /// The library quietly calls `t.cpu().numpy()` for you: a full copy and sync,
    /// with no `.cpu()` in sight. The work then runs on the CPU, and its result
    /// usually travels back to the device right after.
    ///
    /// ## Example
    /// ```python
    /// from scipy.optimize import linear_sum_assignment
    ///
    /// def match(self, cost):
    ///     rows, cols = linear_sum_assignment(cost)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def match(self, cost):
    ///     rows, cols = gpu_linear_sum_assignment(cost)  # a device solver
    /// ```
    pub static HOST_LIBRARY = {
        name: "host-library",
        summary: "device tensor handed to a host library",
        fix: {
            python: "use the torch equivalent on the device (a GPU Hungarian solver, `torch.*` ops, torchvision transforms) or convert once, explicitly, outside the frame path",
            rust: "keep the computation in tensor ops on the device (candle / tch / burn ops, or a CUDA kernel for what they lack, such as a GPU assignment solver), or read back once, explicitly, with one `to_vec*` outside the frame path",
        },
    }
}
