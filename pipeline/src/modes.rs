//! The two ways the pipeline can run the same work.
//!
//! * [`Mode::Resident`] (the default): the frame path never leaves the device.
//!   Reads happen only under the detailed-logging guard, or on the matcher's
//!   emergency fallback; uploads happen only in setup (weights, constants).
//! * [`Mode::Legacy`] reproduces the seed's pre-migration host copies at the
//!   seed's places, through the transfer gate so they are recorded, and the
//!   uploads of their host results back to the device (D2H007):
//!   - the detector's postprocess returns host arrays (boxes, scores, labels;
//!     `dfine_infer.py`), uploaded again for the predictor and the matcher
//!     (with the validity flags computed on the host),
//!   - every input of the mask decoder (prompt positional embeddings, dense
//!     and sparse prompt embeddings, the image embedding) goes to the host and
//!     back, and its outputs (masks, `iou_pred`, `low_res_logits`) are copied
//!     to the host and uploaded again for the packet (`predictor.py`),
//!   - matching runs on the host: cost matrix and IoU distances out,
//!     assignments back, and the track ids out and back (`matcher.py`),
//!   - every frame synchronises for its latency, reads an `.item()`-style
//!     scalar for the log line and copies a debug tensor (`orchestrator.py`).
//!
//! Both modes produce the same [`crate::ResultPacket`] values, so they can be
//! compared on identical frames.
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
//! | `dfine_infer.py` `postprocess_dfine(return_gpu_tensor=False)` | boxes, scores, labels as host arrays, filtered on the host | `legacy-postprocess-boxes`, `legacy-postprocess-scores`, `legacy-postprocess-labels` (reads, `detector/postprocess.rs`); `legacy-upload-boxes`, `legacy-upload-scores`, `legacy-upload-labels`, `legacy-upload-valid` (uploads; the validity flags are computed on the host) |
//! | `predictor.py` 140 | `.cpu().numpy()` on `prompt_embeddings` | `legacy-predictor-prompt-pe` / `legacy-upload-prompt-pe`: the prompt encoder's dense positional embedding (`get_dense_pe`), the prompt-side embedding the mask decoder takes besides the sparse and dense ones |
//! | `predictor.py` 142 | `dense_embeddings` | `legacy-predictor-dense` / `legacy-upload-dense` |
//! | `predictor.py` 144 | `sparse_embeddings` | `legacy-predictor-sparse` / `legacy-upload-sparse` (the box prompts' embeddings) |
//! | `predictor.py` 146 | `mask_inputs` | `legacy-predictor-embedding` / `legacy-upload-embedding`. The pipeline gives SAM no mask prompt (`mask_input=None`: the dense embedding is the prompt encoder's no-mask embedding, already copied at 142), so the copy stands on the mask decoder's remaining input, the image embedding |
//! | `predictor.py` 162, 164, 166 | mask outputs, `iou_pred`, `low_res_logits` | `legacy-predictor-masks`, `legacy-predictor-iou`, `legacy-predictor-logits` (reads, `predictor/mod.rs`); `legacy-upload-masks`, `legacy-upload-iou`, `legacy-upload-logits` (uploads for the packet) |
//! | `matcher.py` 89 | `.cpu()` of the Hungarian cost matrix | `legacy-matcher-cost` (`matcher/mod.rs`) |
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

use std::fmt;
use std::str::FromStr;

/// Resident (device-only frame path) or legacy (the seed's host copies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    #[default]
    Resident,
    Legacy,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Resident => "resident",
            Mode::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode name that is neither `resident` nor `legacy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode `{0}` (expected resident or legacy)")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "resident" => Ok(Mode::Resident),
            "legacy" => Ok(Mode::Legacy),
            _ => Err(ParseModeError(s.to_string())),
        }
    }
}
