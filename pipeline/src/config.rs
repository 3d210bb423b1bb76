//! The pipeline's configuration: frame size, the three models' sizes (a
//! [`Preset`]), their dtype, the mode, logging and where the weights come from.

use std::fmt;
use std::str::FromStr;

use candle_core::{DType, Device};

use crate::detector::DetectorConfig;
use crate::error::{PipelineError, Result};
use crate::flops::FrameFlops;
use crate::graph::GraphMode;
use crate::matcher::TrackerConfig;
use crate::modes::Mode;
use crate::predictor::PredictorConfig;
use crate::weights::WeightSource;

/// The default of [`PipelineConfig::log_frames`].
pub const DEFAULT_LOG_FRAMES: usize = 256;

/// The most per-frame log entries a pipeline keeps.
pub const MAX_LOG_FRAMES: usize = 1 << 16;

/// The model sizes `d2h pipeline run --preset` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Compact models for CPU runs, tests and CI: [`DetectorConfig::small`]
    /// (a 4-convolution backbone, two decoder layers of width 64, 32 queries),
    /// [`PredictorConfig::compact`] (a small CNN encoder at the frame's own
    /// size, 32-wide prompts) and 16 track slots.
    Small,
    /// Realistic sizes: [`DetectorConfig::real`] (ResNet-18, 6 + 6 transformer
    /// layers of width 256, 300 queries), MobileSAM's predictor
    /// ([`PredictorConfig::mobile_sam`]: TinyViT-5M at 1024 × 1024, SAM's
    /// prompt encoder and mask decoder) and 32 track slots.
    Real,
}

impl Preset {
    /// What `d2h pipeline run` uses without `--preset`: `real` on a CUDA
    /// device, `small` on the CPU device (where the real sizes take seconds a frame).
    pub fn default_for(device: &Device) -> Preset {
        if device.is_cpu() {
            Preset::Small
        } else {
            Preset::Real
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Small => "small",
            Preset::Real => "real",
        }
    }

    /// The detector's and predictor's sizes of this preset.
    pub fn models(self) -> (DetectorConfig, PredictorConfig) {
        match self {
            Preset::Small => (DetectorConfig::small(), PredictorConfig::compact()),
            Preset::Real => (DetectorConfig::real(), PredictorConfig::mobile_sam()),
        }
    }

    fn tracker(self) -> TrackerConfig {
        match self {
            Preset::Small => TrackerConfig::with_slots(16),
            Preset::Real => TrackerConfig::with_slots(32),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "small" => Ok(Preset::Small),
            "real" => Ok(Preset::Real),
            other => Err(format!("unknown preset {other:?}: expected small or real")),
        }
    }
}

/// The dtypes the models can run in.
pub const MODEL_DTYPES: [DType; 3] = [DType::F32, DType::BF16, DType::F16];

/// Whether the models can run in `dtype` on `device`, and if not, why.
///
/// f32 runs everywhere. On CUDA, candle 0.11.1 has bf16 and f16 kernels for
/// every op the models use (cuBLAS GEMMs, im2col convolutions, transposed
/// convolutions, softmax, layer norm, resizes; bf16 needs compute capability
/// 8.0 or later, which candle's kernels are built for on Hopper). On the
/// CPU device f16 runs (candle's CPU GEMM has an f16 kernel, and
/// convolutions are im2col + GEMM), but bf16 does not: candle 0.11.1 widens
/// a bf16 *matmul* to f32, yet its CPU convolutions call the GEMM kernel
/// directly, which takes f16, f32 and f64 only ("unsupported dtype BF16 for
/// op matmul").
pub fn check_dtype(dtype: DType, device: &Device) -> std::result::Result<(), String> {
    if !MODEL_DTYPES.contains(&dtype) {
        return Err(format!("the models run in f32, bf16 or f16, not {}", dtype.as_str()));
    }
    if device.is_cpu() && dtype == DType::BF16 {
        return Err(
            "candle 0.11.1's CPU convolutions have no bf16 kernel (use f32 or f16 on the CPU, or bf16 on CUDA)"
                .to_string(),
        );
    }
    Ok(())
}

/// Everything [`crate::Pipeline::new`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Frames are `(1, 3, size, size)`; a multiple of 16.
    pub size: usize,
    pub detector: DetectorConfig,
    pub predictor: PredictorConfig,
    pub tracker: TrackerConfig,
    /// The detector's and the predictor's weights and activations (f32, bf16
    /// or f16; [`check_dtype`]). The postprocess and tracker stay f32.
    pub dtype: DType,
    pub mode: Mode,
    /// Capture the resident frame into a CUDA graph and replay it (a
    /// simulated capture on the CPU); resident mode only.
    pub graph: GraphMode,
    /// Detailed logging: per-frame latency and detection counts, read from the device.
    pub log_detailed: bool,
    /// How many of the most recent per-frame log entries the pipeline keeps
    /// (a ring buffer allocated at setup; older entries live on only in the
    /// running [`crate::LogSummary`]). At most [`MAX_LOG_FRAMES`].
    pub log_frames: usize,
    pub weights: WeightSource,
}

impl PipelineConfig {
    /// The small preset for `size × size` frames (f32, seeded weights,
    /// resident mode): what `d2h pipeline run` runs on the CPU device.
    pub fn standard(size: usize) -> Self {
        PipelineConfig::preset(Preset::Small, size)
    }

    /// `preset`'s models for `size × size` frames, f32, seeded weights,
    /// resident mode, graph off.
    pub fn preset(preset: Preset, size: usize) -> Self {
        let (detector, predictor) = preset.models();
        PipelineConfig {
            size,
            detector,
            predictor,
            tracker: preset.tracker(),
            dtype: DType::F32,
            mode: Mode::Resident,
            graph: GraphMode::Off,
            log_detailed: false,
            log_frames: DEFAULT_LOG_FRAMES,
            weights: WeightSource::default(),
        }
    }

    /// A tiny pipeline for tests: 64 × 64 frames, narrow models.
    pub fn tiny() -> Self {
        PipelineConfig {
            size: 64,
            detector: DetectorConfig::tiny(),
            predictor: PredictorConfig {
                encoder: crate::predictor::EncoderKind::Compact([4, 8, 16]),
                image_size: None,
                embed_dim: 16,
                mask_in_chans: 4,
                iou_head_hidden_dim: 16,
            },
            tracker: TrackerConfig::with_slots(8),
            dtype: DType::F32,
            mode: Mode::Resident,
            graph: GraphMode::Off,
            log_detailed: false,
            log_frames: DEFAULT_LOG_FRAMES,
            weights: WeightSource::default(),
        }
    }

    /// The preset whose models these are (`None`: sizes of no preset, e.g.
    /// [`PipelineConfig::tiny`]'s).
    pub fn preset_of(&self) -> Option<Preset> {
        [Preset::Small, Preset::Real]
            .into_iter()
            .find(|p| p.models() == (self.detector, self.predictor))
    }

    /// One frame's work, counted from the model sizes ([`crate::flops`]);
    /// the predictor decodes the detector's `K` boxes every frame.
    pub fn flops(&self) -> FrameFlops {
        FrameFlops {
            detector: self.detector.flops(self.size),
            predictor: self.predictor.flops(self.size, self.detector.top_k),
        }
    }

    /// Checks sizes before anything is built.
    pub fn validate(&self) -> Result<()> {
        crate::check_size(self.size)?;
        if !MODEL_DTYPES.contains(&self.dtype) {
            return Err(PipelineError::Config(format!(
                "the models run in f32, bf16 or f16, not {}",
                self.dtype.as_str()
            )));
        }
        self.detector.validate().map_err(PipelineError::Config)?;
        self.predictor.validate(self.size).map_err(PipelineError::Config)?;
        if !(1..=MAX_LOG_FRAMES).contains(&self.log_frames) {
            return Err(PipelineError::OutOfRange {
                name: "log frames",
                value: self.log_frames,
                expected: format!("from 1 to {MAX_LOG_FRAMES}"),
            });
        }
        if self.graph == GraphMode::On && self.mode != Mode::Resident {
            return Err(PipelineError::Config(format!(
                "graph mode needs the resident mode: the {} frame copies to the host",
                self.mode
            )));
        }
        if self.tracker.max_tracks == 0 {
            return Err(PipelineError::Config("the tracker needs at least one slot".to_string()));
        }
        Ok(())
    }
}
