//! The crate's error type. Nothing in the pipeline panics on bad input: a
//! frame of the wrong shape, dtype or device, a bad configuration, an unreadable
//! image or weights file all come back as a [`PipelineError`].

use candle_core::DType;

/// Everything that can go wrong building or running the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The frame is not `(1, 3, size, size)`.
    #[error("frame must be a (1, 3, {size}, {size}) tensor, got {got:?}")]
    FrameShape { size: usize, got: Vec<usize> },
    /// The frame is not `f32`.
    #[error("frame must be f32, got {0:?}")]
    FrameDType(DType),
    /// The frame lives on another device than the pipeline.
    #[error("frame is on {got}, the pipeline runs on {expected}")]
    FrameDevice { expected: String, got: String },
    /// A configuration that cannot work (sizes, counts).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The models cannot run in this dtype on this device
    /// ([`crate::config::check_dtype`]).
    #[error("dtype {dtype} is not supported on {device}: {reason}")]
    UnsupportedDType {
        /// `f32`, `bf16`, `f16`, ...
        dtype: &'static str,
        device: String,
        reason: String,
    },
    /// A count or size outside the range the pipeline accepts (e.g. more
    /// frames than [`crate::MAX_FRAMES`], a frame side above
    /// [`crate::MAX_SIZE`]): caught before anything is allocated for it.
    #[error("{name} {value} is out of range: {expected}")]
    OutOfRange {
        /// What the value is (`frames`, `frame size`).
        name: &'static str,
        value: usize,
        /// The accepted range, in words.
        expected: String,
    },
    /// `--device cuda` in a build without the `cuda` feature.
    #[error("this build has no CUDA support (rebuild with the `cuda` feature)")]
    CudaNotBuilt,
    /// The driver-level probe (CUPTI) could not start or read its records.
    #[error("driver probe: {0}")]
    Driver(String),
    /// A weights file that cannot be used.
    #[error("weights {path}: {message}")]
    Weights { path: String, message: String },
    /// An image file that cannot be decoded.
    #[error("image {path}: {message}")]
    Image { path: String, message: String },
    /// A transfer asked for while the frame was being captured (the gate's
    /// capture guard), naming its call site.
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureViolation),
    /// A capture that failed for another reason (candle refusing a host copy
    /// of its own, the driver invalidating the capture).
    #[error("{kind} capture of the resident frame failed: {message}")]
    CaptureFailed {
        kind: crate::capture::CaptureKind,
        message: String,
    },
    /// An error from candle (shape mismatches inside the model, device errors).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file that cannot be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with [`PipelineError`].
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

/// A short name for a device, for messages.
pub(crate) fn device_name(device: &candle_core::Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}
