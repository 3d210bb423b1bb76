//! d2h-pipeline: a detection → segmentation → tracking reference pipeline in
//! candle whose frame path stays on the device, and proves it at run time.
//!
//! * [`Pipeline::process_frame`] takes a `(1, 3, S, S)` frame and returns a
//!   [`ResultPacket`] of device tensors: a DETR-style [`detector`] with a
//!   D-FINE-style on-device postprocess, a MobileSAM [`predictor`] assembled
//!   from candle-transformers' `segment_anything` parts and fed box prompts as
//!   device tensors, and a [`matcher`] doing exact linear assignment and track
//!   birth/death on the device.
//! * Every device-to-host read and every upload of host data goes through the
//!   [`transfer`] gate, which records it under the `rules` crate's catalog
//!   (explicit copy, scalar read, explicit sync, blocking upload) with its
//!   call site, bytes, [`Phase`] and guard; [`report`] turns the records into
//!   the shared `d2h-report/1` schema. [`device_ops`] replaces the candle ops
//!   that would upload host data behind the gate's back.
//! * Two [`Preset`]s of model sizes (`small` for CPU runs and CI, `real`:
//!   ResNet-18 DETR and MobileSAM), in f32, bf16 or f16
//!   ([`PipelineConfig::dtype`]), with their work per frame counted
//!   analytically ([`flops`]).
//! * [`alloc::CountingAlloc`] is a global allocator wrapper counting host
//!   allocations per phase and the live/peak tally; programs opt in.
//! * [`Mode::Legacy`] reproduces the seed's pre-migration host copies so the
//!   two modes can be compared on the same frames.
//! * `Debug` of every type holding tensors prints their dtype, shape and
//!   device ([`summary::TensorSummary`]), never their values (candle's
//!   tensor `Debug` reads the device); sizes and frame counts are bounded
//!   ([`MAX_SIZE`], [`MAX_FRAMES`]) with typed errors; non-finite scores are
//!   cleaned on the device before the top-k.
//!
//! The library returns data and never prints; the `d2h pipeline run` command
//! prints. Without the `cuda` feature it runs on candle's CPU device, where the
//! gate counts what would be transfers on a GPU.

pub mod alloc;
pub mod bias;
pub mod capture;
pub mod channel_norm;
pub mod config;
pub mod depthwise;
pub mod detector;
pub mod device_ops;
pub mod driver;
mod error;
pub mod flops;
mod gate;
pub mod graph;
pub mod layers;
pub mod legacy;
pub mod matcher;
pub mod modes;
#[cfg(feature = "cuda")]
mod nvrtc;
mod op_layout;
pub mod orchestrator;
pub mod patch;
mod phase;
pub mod predictor;
pub mod report;
pub mod runner;
mod site;
pub mod source;
pub mod summary;
pub mod transfer;
pub mod weights;

/// What the unit tests of several modules share.
#[cfg(test)]
pub(crate) mod test_support {
    use candle_core::{DType, Device, Tensor};

    /// A CPU tensor of `shape` with values uniform in `[-1, 1)` (xorshift64 from `seed`).
    pub fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let mut state = seed | 1;
        let values: Vec<f32> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    /// The largest absolute difference between two tensors of one shape, in f32.
    pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a.to_dtype(DType::F32).unwrap() - b.to_dtype(DType::F32).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }
}

pub use capture::{CaptureKind, CaptureViolation};
pub use config::{PipelineConfig, Preset};
pub use error::{PipelineError, Result};
pub use graph::{GraphMode, GraphStats};
pub use modes::Mode;
pub use orchestrator::{FrameLog, LogSummary, Pipeline, ResultPacket, Teardown};
pub use phase::Phase;
pub use runner::{run, RunOptions, RunOutcome};
pub use source::{FrameSource, StillImage, SyntheticVideo};
pub use weights::{WeightSource, Weights};

use candle_core::Device;

/// candle's dtype, re-exported for [`PipelineConfig::dtype`] (so the CLI needs no candle dependency).
pub use candle_core::DType;

/// The devices `d2h pipeline run --device` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

impl DeviceKind {
    /// Opens the device. `Cuda` fails with [`PipelineError::CudaNotBuilt`]
    /// unless the crate was built with the `cuda` feature.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceKind::Cpu => Ok(Device::Cpu),
            DeviceKind::Cuda => open_cuda(),
        }
    }
}

/// candle's stream of the device is the only one the pipeline uses, so the
/// two CUDA events cudarc records per allocation to order streams are dead
/// weight, and a stream capture must not wait on events recorded before it:
/// event tracking is switched off before anything is allocated.
#[cfg(feature = "cuda")]
fn open_cuda() -> Result<Device> {
    let device = Device::new_cuda(0)?;
    if let Device::Cuda(cuda) = &device {
        // SAFETY: every tensor of the pipeline lives on candle's one stream
        // of this device (no other stream reads or writes them), which is
        // what turning the tracking off requires.
        unsafe { cuda.disable_event_tracking() };
    }
    Ok(device)
}

#[cfg(not(feature = "cuda"))]
fn open_cuda() -> Result<Device> {
    Err(PipelineError::CudaNotBuilt)
}

/// The most frames one [`run`] accepts (its per-frame samples are kept).
pub const MAX_FRAMES: usize = 1_000_000;

/// The largest frame side the pipeline accepts. Frames are `(1, 3, S, S)`
/// and the synthetic video keeps a few `S × S` planes per shape, so a larger
/// side is a mistake rather than a workload.
pub const MAX_SIZE: usize = 4096;

/// Checks a frame side: a multiple of 16 in `16..=MAX_SIZE`.
pub fn check_size(size: usize) -> Result<()> {
    if !(16..=MAX_SIZE).contains(&size) || !size.is_multiple_of(16) {
        return Err(PipelineError::OutOfRange {
            name: "frame size",
            value: size,
            expected: format!("a multiple of 16 from 16 to {MAX_SIZE}"),
        });
    }
    Ok(())
}

/// Whether this build has the `cuda` feature.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");
