//! Graph mode: the resident frame captured once into a CUDA graph and
//! replayed, one graph launch per frame.
//!
//! A [`FrameGraph`] owns the buffers that outlive a frame: the input the
//! frame is copied into (one device-to-device copy), and the outputs the
//! captured frame writes its [`ResultPacket`] into. The first
//! [`WARMUP_FRAMES`] frames run eagerly with candle's htod cache held, so every
//! dims/strides upload, every cuBLAS shape and every NVRTC module is in place
//! before the capture; they also allocate the persistent outputs. The next
//! frame is captured on candle's stream (thread-local mode) under the gate's
//! capture guard ([`crate::capture`]) and launched; every later frame is one
//! launch. What capture forbids shapes the frame path:
//!
//! * memory allocated before the capture must not be freed inside it: the
//!   tracker updates its state in place and the packet is copied into the
//!   persistent outputs, so every allocation made inside the capture is freed
//!   inside it (the graph owns no memory between launches);
//! * no host copy and no synchronisation: the gate refuses them and candle,
//!   with the htod cache held, refuses its own;
//! * the logging read and the frame timer stay outside the captured region
//!   (they follow the launch).
//!
//! On the CPU device there is no graph: after the warm-up each frame runs the
//! same path eagerly under a simulated capture, so CI runs the guard, the
//! persistent buffers and the in-place state update.
//!
//! The packet a graph-mode frame returns shares the persistent outputs: the
//! next frame overwrites it.

use std::fmt;
use std::str::FromStr;

use candle_core::{Device, Tensor};

use crate::capture::CaptureKind;
use crate::error::Result;
use crate::orchestrator::ResultPacket;
use crate::summary::TensorSummary;

/// Frames run eagerly (with the htod cache held) before the capture.
pub const WARMUP_FRAMES: u64 = 2;

/// Whether resident frames are captured and replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum GraphMode {
    /// Every frame launches its kernels one by one.
    #[default]
    Off,
    /// Capture once, replay every frame (a simulated capture on the CPU).
    On,
}

impl GraphMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GraphMode::Off => "off",
            GraphMode::On => "on",
        }
    }
}

impl fmt::Display for GraphMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A graph mode that is neither `on` nor `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown graph mode `{0}` (expected on or off)")]
pub struct ParseGraphModeError(pub String);

impl FromStr for GraphMode {
    type Err = ParseGraphModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "on" => Ok(GraphMode::On),
            "off" => Ok(GraphMode::Off),
            _ => Err(ParseGraphModeError(s.to_string())),
        }
    }
}

/// What graph mode has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Frames run eagerly before the capture.
    pub warmup_frames: u64,
    /// Frames run under a capture (one on CUDA; every frame after the
    /// warm-up under a simulated capture on the CPU).
    pub captured_frames: u64,
    /// Graph launches (CUDA only), the captured frame's own included.
    pub launches: u64,
    /// The kind of capture this device gets.
    pub kind: Option<CaptureKind>,
}

/// The kind of capture `device` gets.
pub fn capture_kind(device: &Device) -> CaptureKind {
    if device.is_cuda() {
        CaptureKind::Cuda
    } else {
        CaptureKind::Simulated
    }
}

/// The buffers and the graph of graph mode (see the module's documentation).
pub(crate) struct FrameGraph {
    /// `(1, 3, S, S)` f32: each frame is copied here.
    pub(crate) input: Tensor,
    /// The persistent packet, allocated by the first warm-up frame.
    pub(crate) outputs: Option<ResultPacket>,
    #[cfg(feature = "cuda")]
    graph: Option<cuda::Graph>,
    pub(crate) stats: GraphStats,
}

impl fmt::Debug for FrameGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameGraph")
            .field("input", &TensorSummary(&self.input))
            .field("outputs", &self.outputs)
            .field("stats", &self.stats)
            .finish()
    }
}

impl FrameGraph {
    pub(crate) fn new(size: usize, device: &Device) -> Result<Self> {
        Ok(FrameGraph {
            input: Tensor::zeros((1, 3, size, size), candle_core::DType::F32, device)?,
            outputs: None,
            #[cfg(feature = "cuda")]
            graph: None,
            stats: GraphStats {
                kind: Some(capture_kind(device)),
                ..GraphStats::default()
            },
        })
    }

    /// Copies `frame` into the persistent input (on the device).
    pub(crate) fn load(&self, frame: &Tensor) -> Result<()> {
        self.input.slice_set(&frame.contiguous()?, 0, 0)?;
        Ok(())
    }

    pub(crate) fn warming_up(&self) -> bool {
        self.stats.warmup_frames < WARMUP_FRAMES
    }

    /// The persistent outputs, shared (the next frame overwrites them).
    pub(crate) fn packet(&self) -> Result<ResultPacket> {
        self.outputs
            .clone()
            .ok_or_else(|| crate::PipelineError::Config("graph mode has no outputs before its first frame".into()))
    }

    /// Replays the captured frame, if there is a graph. Returns whether it did.
    pub(crate) fn replay(&mut self) -> Result<bool> {
        #[cfg(feature = "cuda")]
        if let Some(graph) = &self.graph {
            graph.launch()?;
            self.stats.launches += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Keeps the graph a capture produced (CUDA only).
    #[cfg(feature = "cuda")]
    pub(crate) fn keep(&mut self, graph: cuda::Graph) {
        self.graph = Some(graph);
    }
}

/// Runs `f` with candle's htod cache on, on a CUDA device (dims/strides and
/// small host constants are uploaded once and reused: no host-to-device copy
/// per launch); plainly elsewhere. The cache is thread-local and keyed by
/// content, so only a frame path that uploads no per-frame host data (the
/// resident one) runs under it.
pub(crate) fn with_htod_cache<R>(device: &Device, f: impl FnOnce() -> R) -> R {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(cuda) => {
            let _cache = cuda.enable_cuda_graph_htod_cache();
            f()
        }
        _ => f(),
    }
}

#[cfg(feature = "cuda")]
pub(crate) mod cuda {
    //! The stream capture itself (cudarc 0.19's capture and `CudaGraph`).

    use std::sync::Arc;

    use candle_core::cuda_backend::cudarc::driver::{sys, CudaGraph, CudaStream};
    use candle_core::Device;

    use crate::error::{PipelineError, Result};

    fn driver_error(what: &str, e: impl std::fmt::Debug) -> PipelineError {
        PipelineError::Driver(format!("{what}: {e:?}"))
    }

    /// An instantiated graph of one frame.
    pub(crate) struct Graph(CudaGraph);

    impl Graph {
        pub(crate) fn launch(&self) -> Result<()> {
            self.0.launch().map_err(|e| driver_error("cuGraphLaunch", e))
        }
    }

    /// A stream capture in progress.
    pub(crate) struct Capture(Arc<CudaStream>);

    /// Starts capturing candle's stream of `device` (thread-local mode: only
    /// this thread's unsafe calls break it); `None` on other devices.
    pub(crate) fn begin(device: &Device) -> Result<Option<Capture>> {
        let Device::Cuda(cuda) = device else {
            return Ok(None);
        };
        let stream = cuda.cuda_stream();
        stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(|e| driver_error("cuStreamBeginCapture", e))?;
        Ok(Some(Capture(stream)))
    }

    impl Capture {
        /// Ends the capture and instantiates the graph; also called when
        /// the captured code failed, to give the stream back.
        pub(crate) fn end(self) -> Result<Graph> {
            let graph = self
                .0
                .end_capture(sys::CUgraphInstantiate_flags(0))
                .map_err(|e| driver_error("cuStreamEndCapture/cuGraphInstantiate", e))?;
            let graph = graph.ok_or_else(|| PipelineError::Driver("the capture recorded no graph".into()))?;
            graph.upload().map_err(|e| driver_error("cuGraphUpload", e))?;
            Ok(Graph(graph))
        }
    }
}
