//! `Debug` without reading the device.
//!
//! candle's `Debug` and `Display` for [`Tensor`] print the values, which reads
//! the tensor back to the host (`to_vec1`/`to_scalar` inside candle's
//! `display.rs`) past the transfer gate. The pipeline's types that hold
//! tensors or candle modules therefore implement `Debug` by hand, printing
//! each tensor as [`TensorSummary`]: its dtype, shape and device, which are
//! host-side metadata.

use std::fmt;

use candle_core::Tensor;

use crate::error::device_name;

/// A tensor's metadata for `Debug`: `f32[8, 4] on cpu`. Never its values.
#[derive(Clone, Copy)]
pub struct TensorSummary<'a>(pub &'a Tensor);

impl fmt::Debug for TensorSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(f, "{}{:?} on {}", t.dtype().as_str(), t.dims(), device_name(t.device()))
    }
}
