//! What the pipeline's custom ops share: they read their operands' storage
//! directly, so each takes the part of the storage its layout covers, and
//! needs it contiguous (callers make operands contiguous first).

use std::ops::Range;

use candle_core::{Layout, Result};

/// The range of the storage `layout` covers; an error naming `op` and the
/// operand (`what`) when it is not contiguous.
pub(crate) fn contiguous_range(op: &str, what: &str, layout: &Layout) -> Result<Range<usize>> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(start..end),
        None => Err(candle_core::Error::Msg(format!("{op} expects a contiguous {what}"))),
    }
}

/// The part of `data` that `layout` covers, which must be contiguous.
pub(crate) fn contiguous_part<'a, T>(op: &str, what: &str, data: &'a [T], layout: &Layout) -> Result<&'a [T]> {
    Ok(&data[contiguous_range(op, what, layout)?])
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::*;

    #[test]
    fn a_transposed_operand_is_refused_by_name() {
        let t = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(contiguous_range("op", "input", t.layout()).unwrap(), 0..6);
        let narrowed = t.narrow(0, 1, 1).unwrap();
        assert_eq!(
            contiguous_part("op", "input", &[0u8; 6], narrowed.layout())
                .unwrap()
                .len(),
            3
        );
        let err = contiguous_range("bias-add", "input", t.t().unwrap().layout()).unwrap_err();
        assert!(err.to_string().contains("bias-add expects a contiguous input"), "{err}");
    }
}
