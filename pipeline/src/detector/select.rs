//! [`SelectDetections`]: the postprocess fused into one candle custom op, a
//! single kernel on CUDA (`select.cu`, compiled by NVRTC) where the op-by-op
//! form ([`super::postprocess::PostProcess::forward_unfused`]) launches about
//! thirty: NaN cleaning, sigmoid, a two-stage sort, the index arithmetic, the
//! box conversion and the threshold.
//!
//! The CPU kernel is the specification: the same values as the op-by-op form
//! (tests hold the two together, and the GPU tests hold the CUDA kernel to
//! it). Ties between equal scores go to the lower index.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};

use crate::op_layout::contiguous_part;

/// Floats per detection row of the op's output: `x1, y1, x2, y2` in pixels,
/// the score, the class id and the validity (0/1), in that order.
pub const DET_WIDTH: usize = 7;

/// The fused postprocess: `logits: (1, N, C)` and `boxes: (1, N, 4)` cxcywh
/// in `[0, 1]`, both f32 and contiguous, → `(K, DET_WIDTH)` f32, rows by
/// descending score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectDetections {
    pub top_k: usize,
    pub score_threshold: f32,
    pub width: f32,
    pub height: f32,
}

/// A NaN logit ranks last (sigmoid(−∞) = 0).
fn score(logit: f32) -> f32 {
    let x = if logit.is_nan() { f32::NEG_INFINITY } else { logit };
    1.0 / (1.0 + (-x).exp())
}

/// A non-finite box coordinate becomes 0.
fn coordinate(v: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

impl SelectDetections {
    /// `(queries, classes)` of the op's inputs, checked.
    fn dims(&self, logits: &Layout, boxes: &Layout) -> candle_core::Result<(usize, usize)> {
        let (batch, queries, classes) = logits.shape().dims3()?;
        let box_dims = boxes.shape().dims();
        if batch != 1 || box_dims != [1, queries, 4] {
            candle_core::bail!(
                "select-detections expects logits (1, N, C) and boxes (1, N, 4), got {:?} and {:?}",
                logits.shape(),
                boxes.shape()
            )
        }
        if self.top_k == 0 || self.top_k > queries * classes {
            candle_core::bail!("top_k {} must be in 1..={queries} × {classes}", self.top_k)
        }
        Ok((queries, classes))
    }

    /// The op on host slices: `logits` (N·C) and `boxes` (N·4) → K rows.
    pub fn select(&self, logits: &[f32], boxes: &[f32], classes: usize) -> Vec<f32> {
        let scores: Vec<f32> = logits.iter().map(|&l| score(l)).collect();
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        let ranks_before = |a: &u32, b: &u32| {
            scores[*b as usize]
                .total_cmp(&scores[*a as usize])
                .then_with(|| Ord::cmp(a, b))
        };
        let k = self.top_k.min(order.len());
        if k < order.len() {
            order.select_nth_unstable_by(k, ranks_before);
            order.truncate(k);
        }
        order.sort_unstable_by(ranks_before);
        let mut out = Vec::with_capacity(k * DET_WIDTH);
        for index in order {
            let (query, label) = (index as usize / classes, index as usize % classes);
            let b = &boxes[query * 4..query * 4 + 4];
            let (cx, cy) = (coordinate(b[0]), coordinate(b[1]));
            let (half_w, half_h) = (coordinate(b[2]) * 0.5, coordinate(b[3]) * 0.5);
            let s = scores[index as usize];
            out.extend_from_slice(&[
                (cx - half_w) * self.width,
                (cy - half_h) * self.height,
                (cx + half_w) * self.width,
                (cy + half_h) * self.height,
                s,
                label as f32,
                if s >= self.score_threshold { 1.0 } else { 0.0 },
            ]);
        }
        out
    }

    fn output_shape(&self) -> Shape {
        Shape::from((self.top_k, DET_WIDTH))
    }
}

impl CustomOp2 for SelectDetections {
    fn name(&self) -> &'static str {
        "select-detections"
    }

    fn cpu_fwd(
        &self,
        logits: &CpuStorage,
        logits_layout: &Layout,
        boxes: &CpuStorage,
        boxes_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, classes) = self.dims(logits_layout, boxes_layout)?;
        let (CpuStorage::F32(logits), CpuStorage::F32(boxes)) = (logits, boxes) else {
            candle_core::bail!("select-detections expects f32 logits and boxes")
        };
        let logits = contiguous_part("select-detections", "logits", logits, logits_layout)?;
        let boxes = contiguous_part("select-detections", "boxes", boxes, boxes_layout)?;
        Ok((
            CpuStorage::F32(self.select(logits, boxes, classes)),
            self.output_shape(),
        ))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        logits: &candle_core::CudaStorage,
        logits_layout: &Layout,
        boxes: &candle_core::CudaStorage,
        boxes_layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
        use candle_core::cuda_backend::WrapErr;

        use crate::op_layout::contiguous_range;

        const SOURCE: crate::nvrtc::Source = crate::nvrtc::Source {
            module: "d2h_select_detections",
            code: include_str!("select.cu"),
        };
        let (queries, classes) = self.dims(logits_layout, boxes_layout)?;
        let logits_range = contiguous_range("select-detections", "logits", logits_layout)?;
        let boxes_range = contiguous_range("select-detections", "boxes", boxes_layout)?;
        let device = logits.device.clone();
        let logits = logits.as_cuda_slice::<f32>()?.slice(logits_range);
        let boxes = boxes.as_cuda_slice::<f32>()?.slice(boxes_range);
        let mut out = device.alloc_zeros::<f32>(self.top_k * DET_WIDTH)?;
        let func = device.get_or_load_custom_func("select_detections", SOURCE.module, crate::nvrtc::ptx(SOURCE)?)?;
        let n = queries * classes;
        // A warp per 32 scores up to a full block: each round scans n / threads scores per thread.
        let threads = n.next_power_of_two().min(1024).max(32) as u32;
        let config = LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        };
        let (n, classes, k) = (n as i32, classes as i32, self.top_k as i32);
        let mut builder = func.builder();
        builder
            .arg(&logits)
            .arg(&boxes)
            .arg(&mut out)
            .arg(&n)
            .arg(&classes)
            .arg(&k)
            .arg(&self.score_threshold)
            .arg(&self.width)
            .arg(&self.height);
        // SAFETY: the arguments match `select_detections`'s signature; `logits`
        // holds n floats, `boxes` 4 per query and `out` k rows of DET_WIDTH,
        // which is all the kernel touches.
        unsafe { builder.launch(config) }.w()?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, device),
            self.output_shape(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(top_k: usize) -> SelectDetections {
        SelectDetections {
            top_k,
            score_threshold: 0.5,
            width: 100.0,
            height: 50.0,
        }
    }

    #[test]
    fn rows_rank_by_score_then_index_and_decode_their_query() {
        // 3 queries × 2 classes; logits 1.0 twice (a tie), NaN, -2, 3, 0.
        let logits = [1.0, 1.0, f32::NAN, -2.0, 3.0, 0.0];
        let boxes = [0.5, 0.5, 0.25, 0.5, 0.1, 0.1, 0.1, 0.1, 0.25, f32::INFINITY, 0.5, 0.5];
        let rows = op(4).select(&logits, &boxes, 2);
        let row = |r: usize| &rows[r * DET_WIDTH..(r + 1) * DET_WIDTH];
        // Index 4 (query 2, class 0): the infinite cy becomes 0.
        assert_eq!(row(0), &[0.0, -12.5, 50.0, 12.5, score(3.0), 0.0, 1.0]);
        // The tie at logit 1.0: index 0 before index 1, both query 0.
        assert_eq!(row(1), &[37.5, 12.5, 62.5, 37.5, score(1.0), 0.0, 1.0]);
        assert_eq!(row(2)[5], 1.0);
        // Index 5 (logit 0): score 0.5 passes a 0.5 threshold.
        assert_eq!((row(3)[4], row(3)[5], row(3)[6]), (0.5, 1.0, 1.0));
        // All six: the NaN ranks last, with score 0, invalid.
        let all = op(6).select(&logits, &boxes, 2);
        assert_eq!(&all[5 * DET_WIDTH + 4..], &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_op_checks_its_inputs() {
        use candle_core::{Device, Tensor};
        let dev = Device::Cpu;
        let logits = Tensor::zeros((1, 3, 2), candle_core::DType::F32, &dev).unwrap();
        let boxes = Tensor::zeros((1, 3, 4), candle_core::DType::F32, &dev).unwrap();
        assert_eq!(logits.apply_op2_no_bwd(&boxes, &op(6)).unwrap().dims(), [6, DET_WIDTH]);
        for (k, expected) in [(7, "top_k 7"), (0, "top_k 0")] {
            let err = logits.apply_op2_no_bwd(&boxes, &op(k)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let short = Tensor::zeros((1, 2, 4), candle_core::DType::F32, &dev).unwrap();
        assert!(logits.apply_op2_no_bwd(&short, &op(2)).is_err());
        let (logits, boxes) = (
            logits.to_dtype(candle_core::DType::F16).unwrap(),
            boxes.to_dtype(candle_core::DType::F16).unwrap(),
        );
        let err = logits.apply_op2_no_bwd(&boxes, &op(2)).unwrap_err().to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
