//! D-FINE-style postprocess, entirely on the device: sigmoid, top-k over
//! queries × classes, `cxcywh` → `xyxy` in pixels, and the score threshold
//! expressed as a validity mask over a fixed-size output. No host-side
//! filtering, no data-dependent shapes: `K` detections come out every frame.
//! Non-finite inputs are cleaned on the device before the top-k (a NaN logit
//! becomes −∞, so it ranks last with score 0; a non-finite box coordinate
//! becomes 0), so a NaN in the weights or in a frame gives a defined result
//! rather than a panic in the sort.
//!
//! [`PostProcess::forward_to_host`] is the legacy (pre-migration) variant: the
//! same computation, then the arrays are copied to the host and filtered
//! there, as `postprocess_dfine(return_gpu_tensor=False)` did in the seed;
//! [`HostDetections::upload`] puts them back on the device.

use std::fmt;

use candle_core::{DType, Result, Tensor, D};

use crate::device_ops::{ge_const, replace_nan, replace_non_finite};
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
    /// `logits: (1, N, C)`, `boxes: (1, N, 4)` cxcywh in `[0, 1]` → [`Detections`].
    pub fn forward(&self, logits: &Tensor, boxes: &Tensor) -> Result<Detections> {
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
        let order = scores.arg_sort_last_dim(false)?.narrow(0, 0, self.top_k)?;
        let top_scores = scores.gather(&order, 0)?;
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
        Ok(Detections {
            boxes: xyxy,
            scores: top_scores,
            labels,
            valid,
        })
    }
}
