declare_rule! {
    /// ## What it does
    /// Flags explicit copies of device data to host memory: `.cpu()`,
    /// `.to("cpu")`, `.to(device="cpu")`, `.to(torch.device("cpu"))`, a move to a
    /// CPU device held in a variable, `.numpy()`, `.tolist()`, and
    /// `np.asarray(t)` / `np.array(t)` on a tensor. In Rust: candle's `to_vec1/2/3`
    /// and `to_device(&Device::Cpu)`, cudarc's `memcpy_dtoh` / `clone_dtoh`, tch's
    /// `.to(Device::Cpu)`, burn's `into_data()`.
    ///
    /// A chain such as `x.detach().cpu().numpy()` is one copy and one finding.
    ///
    /// ## Why is this bad?
    /// A device-to-host copy waits for every kernel queued before it, then moves
    /// the data over PCIe. On a frame path it serialises the CPU and the GPU: the
    /// GPU idles while the host reads, and the host waits while the GPU drains.
    /// A handful of such copies per frame can cost more than the model itself.
    ///
    /// ## Example
    /// ```python
    /// def predict(self, image):
    ///     masks, iou = self.decoder(image)
    ///     return masks.cpu().numpy(), iou.cpu().numpy()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def predict(self, image, return_gpu_tensor=True):
    ///     masks, iou = self.decoder(image)
    ///     if return_gpu_tensor:
    ///         return masks, iou
    ///     return masks.cpu().numpy(), iou.cpu().numpy()
    /// ```
    pub static EXPLICIT_COPY = {
        name: "explicit-copy",
        summary: "explicit device-to-host copy",
        fix: {
            python: "keep the tensor on the device and return it (`return_gpu_tensor=True` by default); copy once, at the edge of the pipeline",
            rust: "return the `Tensor` and keep it on the device (`Device::Cuda` end to end); read back once, at the edge of the pipeline: one `to_vec*` / `to_device(&Device::Cpu)` of everything the host needs (`Tensor::cat` the pieces first), not one per step",
        },
    }
}
