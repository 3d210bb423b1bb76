//! D-FINE-style postprocess, entirely on the device: sigmoid, top-k over
//! queries × classes, `cxcywh` → `xyxy` in pixels, and the score threshold
//! expressed as a validity mask over a fixed-size output. No host-side
//! filtering, no data-dependent shapes: `K` detections come out every frame.
//! Non-finite inputs are cleaned on the device before the top-k (a NaN logit
//! becomes −∞, so it ranks last with score 0; a non-finite box coordinate
//! becomes 0), so a NaN in the weights or in a frame gives a defined result
//! rather than a panic in the sort.
//!
//! [`PostProcess::forward`] runs it as one fused op
//! ([`super::select::SelectDetections`], one kernel on CUDA) and unpacks its
//! rows into [`Detections`]' fields; [`PostProcess::forward_unfused`] is the
//! same computation op by op, the specification the fused op is tested
//! against.
//!
//! The op-by-op top-k is exact and sorts at most [`MAX_SORT_COLUMNS`] values per row:
//! candle's CUDA `arg_sort` sorts each row in one thread block's shared
//! memory (4 bytes a column, padded to a power of two, within the default
//! 48 KiB), so the real-size detector's 300 × 80 scores are cut into rows of
//! 4,096, each row's top `K` kept, and the survivors sorted again
//! ([`top_k_desc`]). The small preset's 256 scores take one sort, as before.
//!
//! [`PostProcess::forward_to_host`] is the legacy (pre-migration) variant: the
//! same computation, then the arrays are copied to the host and filtered
//! there, as `postprocess_dfine(return_gpu_tensor=False)` did in the seed;
//! [`HostDetections::upload`] puts them back on the device.

use std::fmt;

use candle_core::{DType, Result, Tensor, D};

use super::select::{SelectDetections, DET_WIDTH};
use crate::device_ops::{arange_on_device, ge_const, replace_nan, replace_non_finite};
use crate::summary::TensorSummary;

pub use crate::legacy::HostDetections;

/// `K` detections, all on the device. `Debug` prints shapes, not values.
#[derive(Clone)]
pub struct Detections {
    /// `(K, 4)` f32, `x1, y1, x2, y2` in pixels.
    pub boxes: Tensor,
    /// `(K,)` f32, sigmoid scores, descending.
    pub scores: Tensor,
    /// `(K,)` u32 class ids.
    pub labels: Tensor,
    /// `(K,)` u8, 1 where the score passes the threshold.
    pub valid: Tensor,
    /// `(K, DET_WIDTH)` f32: the same detections a row each (`x1, y1, x2,
    /// y2, score, label, valid`), as the fused tracker reads them.
    pub packed: Tensor,
}

impl Detections {
    /// Unpacks the fused postprocess's `(K, DET_WIDTH)` rows: four small
    /// device copies, each field contiguous.
    pub fn from_packed(packed: Tensor) -> Result<Detections> {
        let (_, width) = packed.dims2()?;
        if width != DET_WIDTH {
            candle_core::bail!("packed detections have {DET_WIDTH} columns, got {:?}", packed.shape())
        }
        let column = |i: usize| packed.narrow(1, i, 1)?.squeeze(1);
        Ok(Detections {
            boxes: packed.narrow(1, 0, 4)?.contiguous()?,
            scores: column(4)?.contiguous()?,
            labels: column(5)?.to_dtype(DType::U32)?,
            valid: column(6)?.to_dtype(DType::U8)?,
            packed,
        })
    }

    /// Detections from their fields (`(K, 4)` f32 boxes, `(K,)` f32 scores,
    /// u32 labels, u8 validity), packed on their device.
    pub fn from_parts(boxes: Tensor, scores: Tensor, labels: Tensor, valid: Tensor) -> Result<Detections> {
        let column = |t: &Tensor| t.to_dtype(DType::F32)?.unsqueeze(1);
        let packed = Tensor::cat(&[&boxes, &column(&scores)?, &column(&labels)?, &column(&valid)?], 1)?;
        Ok(Detections {
            boxes,
            scores,
            labels,
            valid,
            packed,
        })
    }
}

impl fmt::Debug for Detections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detections")
            .field("boxes", &TensorSummary(&self.boxes))
            .field("scores", &TensorSummary(&self.scores))
            .field("labels", &TensorSummary(&self.labels))
            .field("valid", &TensorSummary(&self.valid))
            .finish()
    }
}

/// The postprocess's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostProcess {
    /// `K`: detections kept per frame.
    pub top_k: usize,
    /// Scores below this are marked invalid.
    pub score_threshold: f32,
    /// The frame's width and height in pixels (boxes are scaled to them).
    pub width: usize,
    pub height: usize,
}

impl PostProcess {
    /// `logits: (1, N, C)`, `boxes: (1, N, 4)` cxcywh in `[0, 1]`, f32 →
    /// [`Detections`], through the fused op.
    pub fn forward(&self, logits: &Tensor, boxes: &Tensor) -> Result<Detections> {
        let op = SelectDetections {
            top_k: self.top_k,
            score_threshold: self.score_threshold,
            width: self.width as f32,
            height: self.height as f32,
        };
        let packed = logits.contiguous()?.apply_op2_no_bwd(&boxes.contiguous()?, &op)?;
        Detections::from_packed(packed)
    }

    /// [`PostProcess::forward`] op by op (about thirty kernels on CUDA).
    pub fn forward_unfused(&self, logits: &Tensor, boxes: &Tensor) -> Result<Detections> {
        let (_, queries, classes) = logits.dims3()?;
        if self.top_k > queries * classes {
            candle_core::bail!("top_k {} exceeds queries × classes ({queries} × {classes})", self.top_k)
        }
        // Non-finite inputs (a NaN in the weights or the frame) have a
        // defined result: a NaN logit ranks last (score 0), a non-finite box
        // coordinate becomes 0. Cleaned on the device, before the sort: NaN
        // has no total order and candle's CPU sort panics on it.
        let logits = replace_nan(&logits.flatten_all()?, f64::NEG_INFINITY)?;
        let boxes = replace_non_finite(boxes, 0.0)?;
        let scores = candle_nn::ops::sigmoid(&logits)?;
        let (top_scores, order) = top_k_desc(&scores, self.top_k)?;
        // index = query * C + class; recover both with exact f32 arithmetic.
        let index = order.to_dtype(DType::F32)?;
        let query = ((&index + 0.5)? / classes as f64)?.floor()?;
        let labels = (&index - (&query * classes as f64)?)?.to_dtype(DType::U32)?;
        let picked = boxes.squeeze(0)?.index_select(&query.to_dtype(DType::U32)?, 0)?;
        let cx = picked.narrow(D::Minus1, 0, 1)?;
        let cy = picked.narrow(D::Minus1, 1, 1)?;
        let half_w = (picked.narrow(D::Minus1, 2, 1)? * 0.5)?;
        let half_h = (picked.narrow(D::Minus1, 3, 1)? * 0.5)?;
        let (w, h) = (self.width as f64, self.height as f64);
        let xyxy = Tensor::cat(
            &[
                ((&cx - &half_w)? * w)?,
                ((&cy - &half_h)? * h)?,
                ((&cx + &half_w)? * w)?,
                ((&cy + &half_h)? * h)?,
            ],
            D::Minus1,
        )?;
        let valid = ge_const(&top_scores, f64::from(self.score_threshold))?;
        Detections::from_parts(xyxy, top_scores, labels, valid)
    }
}

/// The most values one `arg_sort` row holds in [`top_k_desc`]: 16 KiB of
/// shared memory in candle's CUDA sort kernel.
pub const MAX_SORT_COLUMNS: usize = 4096;

/// Pads a row of sigmoid scores (all in `[0, 1]`): below every score, so it is
/// never among the top `k` of a row with at least `k` scores.
const PAD_SCORE: f32 = -1.0;

/// The `k` largest of the 1-D f32 `scores` (each ≥ 0), descending, and their
/// `u32` indices, all on the device. Up to [`MAX_SORT_COLUMNS`] values take
/// one sort; more are cut into rows of that many (the last padded with
/// [`PAD_SCORE`]), each row's top `k` kept, and the kept values ranked the
/// same way: exact, since each of the overall top `k` is among its row's.
pub fn top_k_desc(scores: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    let n = scores.dims1()?;
    if k == 0 || k > n {
        candle_core::bail!("top-k of {k} from {n} scores")
    }
    if n <= MAX_SORT_COLUMNS {
        let order = scores.arg_sort_last_dim(false)?.narrow(0, 0, k)?;
        let values = scores.gather(&order, 0)?;
        return Ok((values, order));
    }
    let device = scores.device();
    let cols = MAX_SORT_COLUMNS;
    let rows = n.div_ceil(cols);
    let padded = match rows * cols - n {
        0 => scores.clone(),
        pad => Tensor::cat(
            &[scores, &Tensor::full(PAD_SCORE, pad, device)?.to_dtype(scores.dtype())?],
            0,
        )?,
    };
    let grid = padded.reshape((rows, cols))?;
    let keep = k.min(cols);
    let local = grid.arg_sort_last_dim(false)?.narrow(1, 0, keep)?.contiguous()?;
    let values = grid.gather(&local, 1)?;
    // Each kept value's index in `scores`: its row's offset plus its column (exact in u32).
    let offsets = (arange_on_device(rows, DType::U32, device)? * cols as f64)?.reshape((rows, 1))?;
    let index = local.broadcast_add(&offsets)?.flatten_all()?;
    let (top, position) = top_k_desc(&values.flatten_all()?, k)?;
    Ok((top, index.gather(&position, 0)?))
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn the_two_stage_top_k_is_the_one_sort_top_k() {
        let dev = Device::Cpu;
        // 24,000 scores (the real detector's 300 × 80), distinct, in [0, 1):
        // rows of 4,096, the last padded; then 12,000 and 4,096 (no padding, one sort).
        for n in [24_000usize, 12_000, 4_097, 4_096, 100] {
            let values: Vec<f32> = (0..n).map(|i| ((i * 7_919) % n) as f32 / n as f32).collect();
            let scores = Tensor::from_slice(&values, n, &dev).unwrap();
            for k in [1usize, 20, 64] {
                let (top, index) = top_k_desc(&scores, k).unwrap();
                let mut expected: Vec<(f32, u32)> = values.iter().enumerate().map(|(i, v)| (*v, i as u32)).collect();
                expected.sort_by(|a, b| b.0.total_cmp(&a.0));
                expected.truncate(k);
                let got: Vec<(f32, u32)> = top
                    .to_vec1::<f32>()
                    .unwrap()
                    .into_iter()
                    .zip(index.to_vec1::<u32>().unwrap())
                    .collect();
                assert_eq!(got, expected, "n {n}, k {k}");
            }
        }
        let scores = Tensor::zeros(10, DType::F32, &dev).unwrap();
        assert!(top_k_desc(&scores, 11).is_err());
        assert!(top_k_desc(&scores, 0).is_err());
    }
}
