//! The pipeline's configuration: frame size, the three models' sizes, the
//! mode, logging and where the weights come from.

use crate::detector::DetectorConfig;
use crate::error::{PipelineError, Result};
use crate::graph::GraphMode;
use crate::matcher::TrackerConfig;
use crate::modes::Mode;
use crate::predictor::PredictorConfig;
use crate::weights::WeightSource;

/// The default of [`PipelineConfig::log_frames`].
pub const DEFAULT_LOG_FRAMES: usize = 256;

/// The most per-frame log entries a pipeline keeps.
pub const MAX_LOG_FRAMES: usize = 1 << 16;

/// Everything [`crate::Pipeline::new`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Frames are `(1, 3, size, size)`; a multiple of 16.
    pub size: usize,
    pub detector: DetectorConfig,
    pub predictor: PredictorConfig,
    pub tracker: TrackerConfig,
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
    /// The `d2h pipeline run` default for `size × size` frames: the standard
    /// detector and the compact predictor, seeded weights, resident mode.
    pub fn standard(size: usize) -> Self {
        PipelineConfig {
            size,
            detector: DetectorConfig::standard(),
            predictor: PredictorConfig::compact(),
            tracker: TrackerConfig::with_slots(16),
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
            mode: Mode::Resident,
            graph: GraphMode::Off,
            log_detailed: false,
            log_frames: DEFAULT_LOG_FRAMES,
            weights: WeightSource::default(),
        }
    }

    /// Checks sizes before anything is built.
    pub fn validate(&self) -> Result<()> {
        crate::check_size(self.size)?;
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
