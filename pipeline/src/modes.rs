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
//! compared on identical frames. The legacy transfers live in
//! [`crate::legacy`], which maps each to the seed's site.

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
