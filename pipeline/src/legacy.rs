//! Legacy mode ([`Mode::Legacy`](crate::Mode)): the seed's pre-migration host
//! copies, at the seed's places, made through the transfer gate so that they
//! are recorded, and the uploads of their host results back to the device.
//! [`Pipeline`](crate::Pipeline)'s legacy frame calls these stages in place of
//! the resident ones.
//!
//! Every transfer here is deliberate, so one file-level suppression (below)
//! says so for all of them: the static audit passes, and its JSON report keeps
//! each one, critical and marked suppressed with that reason, for `d2h
//! compare` to meet the runtime report's legacy sites. Nothing else belongs in
//! this file.
//!
//! # From the seed's sites to the pipeline's
//!
//! The seed (`shared/seed/`, the Python migration plan) lists its critical
//! conversions by file and line. Each maps to `// d2h-site:` markers in
//! `pipeline/src` (the tests find the lines by marker, and the runtime report
//! names them by file and line). Legacy sites are recorded in the frame phase
//! without a guard (critical); `setup-*` sites are low.
//!
//! | seed site | what the seed copied | pipeline marker(s) |
//! |---|---|---|
//! | `dfine_infer.py` `postprocess_dfine(return_gpu_tensor=False)` | boxes, scores, labels as host arrays, filtered on the host | `legacy-postprocess-boxes`, `legacy-postprocess-scores`, `legacy-postprocess-labels` (reads); `legacy-upload-boxes`, `legacy-upload-scores`, `legacy-upload-labels`, `legacy-upload-valid` (uploads; the validity flags are computed on the host) |
//! | `predictor.py` 140 | `.cpu().numpy()` on `prompt_embeddings` | `legacy-predictor-prompt-pe` / `legacy-upload-prompt-pe`: the prompt encoder's dense positional embedding (`get_dense_pe`), the prompt-side embedding the mask decoder takes besides the sparse and dense ones |
//! | `predictor.py` 142 | `dense_embeddings` | `legacy-predictor-dense` / `legacy-upload-dense` |
//! | `predictor.py` 144 | `sparse_embeddings` | `legacy-predictor-sparse` / `legacy-upload-sparse` (the box prompts' embeddings) |
//! | `predictor.py` 146 | `mask_inputs` | `legacy-predictor-embedding` / `legacy-upload-embedding`. The pipeline gives SAM no mask prompt (`mask_input=None`: the dense embedding is the prompt encoder's no-mask embedding, already copied at 142), so the copy stands on the mask decoder's remaining input, the image embedding |
//! | `predictor.py` 162, 164, 166 | mask outputs, `iou_pred`, `low_res_logits` | `legacy-predictor-masks`, `legacy-predictor-iou`, `legacy-predictor-logits` (reads); `legacy-upload-masks`, `legacy-upload-iou`, `legacy-upload-logits` (uploads for the packet) |
//! | `matcher.py` 89 | `.cpu()` of the Hungarian cost matrix | `legacy-matcher-cost` |
//! | `matcher.py` 91 | `.detach().cpu().numpy()` on indices | no read of its own: the legacy matcher produces the assignment indices on the host (the seed's Hungarian step); their upload back is `legacy-upload-assignment` |
//! | `matcher.py` 105 | `.cpu()` for distance calculations | `legacy-matcher-iou`: the IoU matrix, used on the host to check the gate again |
//! | `matcher.py` 112 | `.cpu().numpy()` on the assignments | `legacy-matcher-ids` (each detection's track id), uploaded again as `legacy-upload-track-ids` |
//! | `orchestrator.py` 278 | `.item()` for the latency log | `legacy-item` (D2H002) and `legacy-sync` (D2H004, the synchronisation the `.item()` implies), every frame; resident mode does both only under detailed logging: `guarded-sync`, `guarded-count` (low) |
//! | `orchestrator.py` 345 | `.cpu()` of a debug tensor | `legacy-debug` |
//! | `cpu_to_gpu.py` 156 | the emergency `.cpu()` fallback | `fallback-matcher-cost` / `fallback-matcher-assign` (`matcher/mod.rs`): the matcher's host fallback, taken when the device has no assignment kernel, counted and warned about (low, both modes) |
//!
//! Per legacy frame that is 29 sites: 16 reads (D2H001 ×14, D2H002, D2H004)
//! and 13 uploads (D2H007). The `teardown-tracks` read and the `setup-*`
//! uploads happen in both modes, outside the frame phase.
// d2h: ignore-file[D2H001,D2H002,D2H004,D2H007] legacy mode reproduces the seed's transfers (the table above)

use std::fmt;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};

use crate::detector::{Detections, PostProcess};
use crate::matcher::cost::pairwise_iou;
use crate::matcher::Tracker;
use crate::predictor::{Predictions, Predictor};
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use crate::Result;

/// The legacy postprocess's output: host arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDetections {
    pub boxes: Vec<Vec<f32>>,
    pub scores: Vec<f32>,
    pub labels: Vec<u32>,
    pub valid: Vec<u8>,
}

impl HostDetections {
    /// Uploads the arrays back to `device` through `gate` (what the legacy
    /// code did before the predictor): four D2H007 per frame.
    pub fn upload(&self, gate: &Gate, device: &Device) -> candle_core::Result<Detections> {
        let k = self.scores.len();
        let flat: Vec<f32> = self.boxes.iter().flatten().copied().collect();
        let boxes = gate.upload_vec(flat, (k, 4), device, symbol!(), "boxes")?; // d2h-site: legacy-upload-boxes
        let scores = gate.upload_slice(&self.scores, k, device, symbol!(), "scores")?; // d2h-site: legacy-upload-scores
        let labels = gate.upload_slice(&self.labels, k, device, symbol!(), "labels")?; // d2h-site: legacy-upload-labels
        let valid = gate.upload_slice(&self.valid, k, device, symbol!(), "valid")?; // d2h-site: legacy-upload-valid
        Detections::from_parts(boxes, scores, labels, valid)
    }
}

impl PostProcess {
    /// Legacy: computes the top-k, copies it to the host and filters there.
    pub fn forward_to_host(&self, gate: &Gate, logits: &Tensor, boxes: &Tensor) -> Result<HostDetections> {
        let device = self.forward(logits, boxes)?;
        let boxes = gate.to_vec2::<f32>(&device.boxes, symbol!(), "boxes")?; // d2h-site: legacy-postprocess-boxes
        let scores = gate.to_vec1::<f32>(&device.scores, symbol!(), "scores")?; // d2h-site: legacy-postprocess-scores
        let labels = gate.to_vec1::<u32>(&device.labels, symbol!(), "labels")?; // d2h-site: legacy-postprocess-labels
        let valid = scores.iter().map(|&s| u8::from(s >= self.score_threshold)).collect();
        Ok(HostDetections {
            boxes,
            scores,
            labels,
            valid,
        })
    }
}

/// The legacy predictor's outputs, on the host.
#[derive(Clone)]
pub struct HostPredictions {
    /// A host (CPU) tensor.
    pub masks: Tensor,
    pub iou_pred: Vec<Vec<f32>>,
    /// A host (CPU) tensor.
    pub low_res_logits: Tensor,
}

impl fmt::Debug for HostPredictions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostPredictions")
            .field("masks", &TensorSummary(&self.masks))
            .field("iou_pred", &format_args!("{} rows", self.iou_pred.len()))
            .field("low_res_logits", &TensorSummary(&self.low_res_logits))
            .finish()
    }
}

impl HostPredictions {
    /// Uploads back to `device` through `gate`: three D2H007 per frame.
    pub fn upload(&self, gate: &Gate, device: &Device) -> candle_core::Result<Predictions> {
        let k = self.iou_pred.len();
        let iou: Vec<f32> = self.iou_pred.iter().flatten().copied().collect();
        let cols = iou.len().checked_div(k).unwrap_or(1);
        Ok(Predictions {
            masks: gate.upload(&self.masks, device, symbol!(), "masks")?, // d2h-site: legacy-upload-masks
            iou_pred: gate.upload_vec(iou, (k, cols), device, symbol!(), "iou_pred")?, // d2h-site: legacy-upload-iou
            low_res_logits: gate.upload(&self.low_res_logits, device, symbol!(), "low_res_logits")?, // d2h-site: legacy-upload-logits
        })
    }
}

impl Predictor {
    /// Legacy: every input of the mask decoder goes to the host and is
    /// uploaded again (the seed's `predictor.py` lines 140–146: prompt,
    /// dense and sparse embeddings and the mask inputs; see the table
    /// above), and the outputs are copied to the host, as
    /// `predict_sam(return_gpu_tensor=False)` did in the seed.
    pub fn forward_to_host(&self, gate: &Gate, frame: &Tensor, boxes: &Tensor) -> Result<HostPredictions> {
        let device = frame.device();
        let embedding = self.embed(frame)?;
        let sparse = self.box_embeddings(boxes)?;
        let image_pe = gate.to_host(&self.image_pe, symbol!(), "prompt positional embeddings")?; // d2h-site: legacy-predictor-prompt-pe
        let dense = gate.to_host(&self.dense, symbol!(), "dense_embeddings")?; // d2h-site: legacy-predictor-dense
        let sparse = gate.to_host(&sparse, symbol!(), "sparse_embeddings")?; // d2h-site: legacy-predictor-sparse
        let embedding = gate.to_host(&embedding, symbol!(), "mask decoder image input")?; // d2h-site: legacy-predictor-embedding
        let image_pe = gate.upload(&image_pe, device, symbol!(), "prompt positional embeddings")?; // d2h-site: legacy-upload-prompt-pe
        let dense = gate.upload(&dense, device, symbol!(), "dense_embeddings")?; // d2h-site: legacy-upload-dense
        let sparse = gate.upload(&sparse, device, symbol!(), "sparse_embeddings")?; // d2h-site: legacy-upload-sparse
        let embedding = gate.upload(&embedding, device, symbol!(), "mask decoder image input")?; // d2h-site: legacy-upload-embedding
        let out = self.decode(&embedding, &image_pe, &sparse, &dense)?;
        Ok(HostPredictions {
            masks: gate.to_host(&out.masks, symbol!(), "masks")?, // d2h-site: legacy-predictor-masks
            iou_pred: gate.to_vec2::<f32>(&out.iou_pred, symbol!(), "iou_pred")?, // d2h-site: legacy-predictor-iou
            low_res_logits: gate.to_host(&out.low_res_logits, symbol!(), "low_res_logits")?, // d2h-site: legacy-predictor-logits
        })
    }
}

impl Tracker {
    /// Legacy: the cost matrix and the IoU distances go to the host, the
    /// assignment is solved and gated there and comes back every frame, then
    /// the track ids make the same round trip (the seed's `matcher.py`).
    pub fn update_to_host(&mut self, gate: &Gate, dets: &Detections) -> Result<Tensor> {
        let cost = self.cost(dets)?;
        let iou = pairwise_iou(&dets.boxes, &self.state().boxes)?;
        let host = gate.to_vec2::<f32>(&cost, symbol!(), "cost matrix")?; // d2h-site: legacy-matcher-cost
        let host_iou = gate.to_vec2::<f32>(&iou, symbol!(), "IoU distances")?; // d2h-site: legacy-matcher-iou
                                                                               // The IoU gate, checked again on the host distances as the seed did
                                                                               // (the cost matrix already forbids these pairs: same result).
        let iou_gate = self.cfg.iou_gate;
        let values = Self::solve_host_gated(&host, |r, c| host_iou[r][c] >= iou_gate);
        let n = values.len();
        let assignment = gate.upload_vec(values, n, &self.device, symbol!(), "assignment")?; // d2h-site: legacy-upload-assignment
        let ids = self.apply(dets, &assignment)?;
        let host_ids = gate.to_vec1::<i64>(&ids, symbol!(), "track ids")?; // d2h-site: legacy-matcher-ids
        let n = host_ids.len();
        let ids = gate.upload_vec(host_ids, n, &self.device, symbol!(), "track ids")?; // d2h-site: legacy-upload-track-ids
        Ok(ids)
    }
}

/// What the seed did at the end of every frame, whether or not anyone read the
/// log: a synchronisation for the latency, an `.item()` of the detection count
/// and a copy of a debug tensor. Returns the latency in milliseconds since
/// `start` and the count.
pub(crate) fn end_of_frame(gate: &Gate, device: &Device, dets: &Detections, start: Instant) -> Result<(f64, f32)> {
    gate.synchronize(device, symbol!(), "frame latency")?; // d2h-site: legacy-sync
    let latency_ms = start.elapsed().as_secs_f64() * 1e3;
    let count = dets.valid.to_dtype(DType::F32)?.sum_all()?;
    let detections = gate.to_scalar::<f32>(&count, symbol!(), "valid detections")?; // d2h-site: legacy-item
    let _debug = gate.to_vec1::<f32>(&dets.scores, symbol!(), "debug scores")?; // d2h-site: legacy-debug
    Ok((latency_ms, detections))
}
