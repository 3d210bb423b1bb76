//! The matching cost between this frame's detections and the track slots,
//! computed on the device: `1 - IoU` plus a penalty when the classes differ,
//! with gated pairs (an invalid detection, a dead track slot, an IoU below the
//! gate) set to [`FORBIDDEN`].

use candle_core::{DType, Result, Tensor, D};

use crate::device_ops::{ge_const, ne_const};

/// The cost of a forbidden pair: far above any sum of allowed costs.
pub const FORBIDDEN: f32 = 1.0e6;

/// Pairwise IoU of `a: (K, 4)` and `b: (T, 4)` xyxy boxes → `(K, T)`.
pub fn pairwise_iou(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let col = |t: &Tensor, i: usize| t.narrow(D::Minus1, i, 1);
    let (ax1, ay1, ax2, ay2) = (col(a, 0)?, col(a, 1)?, col(a, 2)?, col(a, 3)?);
    let bt = b.t()?;
    let (bx1, by1, bx2, by2) = (
        bt.narrow(0, 0, 1)?,
        bt.narrow(0, 1, 1)?,
        bt.narrow(0, 2, 1)?,
        bt.narrow(0, 3, 1)?,
    );
    let iw = ax2
        .broadcast_minimum(&bx2)?
        .broadcast_sub(&ax1.broadcast_maximum(&bx1)?)?
        .relu()?;
    let ih = ay2
        .broadcast_minimum(&by2)?
        .broadcast_sub(&ay1.broadcast_maximum(&by1)?)?
        .relu()?;
    let inter = (iw * ih)?;
    let area_a = ((&ax2 - &ax1)?.relu()? * (&ay2 - &ay1)?.relu()?)?;
    let area_b = ((&bx2 - &bx1)?.relu()? * (&by2 - &by1)?.relu()?)?;
    let union = area_a.broadcast_add(&area_b)?.sub(&inter)?;
    inter.div(&(union + 1e-9)?)
}

/// The gated cost matrix `(K, T)`.
///
/// `det_labels`/`track_labels` are f32 class ids, `det_valid`/`track_alive`
/// f32 0/1 flags.
#[allow(clippy::too_many_arguments)]
pub fn cost_matrix(
    det_boxes: &Tensor,
    det_labels: &Tensor,
    det_valid: &Tensor,
    track_boxes: &Tensor,
    track_labels: &Tensor,
    track_alive: &Tensor,
    iou_gate: f32,
    class_weight: f32,
) -> Result<Tensor> {
    let iou = pairwise_iou(det_boxes, track_boxes)?;
    let mismatch = det_labels
        .unsqueeze(1)?
        .broadcast_ne(&track_labels.unsqueeze(0)?)?
        .to_dtype(DType::F32)?;
    let cost = ((1.0 - &iou)? + (mismatch * f64::from(class_weight))?)?;
    let allowed = det_valid
        .unsqueeze(1)?
        .broadcast_mul(&track_alive.unsqueeze(0)?)?
        .mul(&ge_const(&iou, f64::from(iou_gate))?.to_dtype(DType::F32)?)?;
    let allowed = ne_const(&allowed, 0.0)?;
    let forbidden = Tensor::full(FORBIDDEN, cost.shape(), cost.device())?;
    allowed.where_cond(&cost, &forbidden)?.contiguous()
}
