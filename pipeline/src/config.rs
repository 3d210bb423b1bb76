//! The pipeline's configuration: frame size, the three models' sizes, the
//! mode, logging and where the weights come from.

use crate::detector::DetectorConfig;
use crate::error::{PipelineError, Result};
use crate::matcher::TrackerConfig;
use crate::modes::Mode;
use crate::predictor::PredictorConfig;
use crate::weights::WeightSource;

/// Everything [`crate::Pipeline::new`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Frames are `(1, 3, size, size)`; a multiple of 16.
    pub size: usize,
    pub detector: DetectorConfig,
    pub predictor: PredictorConfig,
    pub tracker: TrackerConfig,
    pub mode: Mode,
    /// Detailed logging: per-frame latency and detection counts, read from the device.
    pub log_detailed: bool,
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
            log_detailed: false,
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
            log_detailed: false,
            weights: WeightSource::default(),
        }
    }

    /// Checks sizes before anything is built.
    pub fn validate(&self) -> Result<()> {
        if self.size == 0 || !self.size.is_multiple_of(16) {
            return Err(PipelineError::Config(format!(
                "frame size {} must be a positive multiple of 16",
                self.size
            )));
        }
        self.detector.validate().map_err(PipelineError::Config)?;
        self.predictor.validate(self.size).map_err(PipelineError::Config)?;
        if self.tracker.max_tracks == 0 {
            return Err(PipelineError::Config("the tracker needs at least one slot".to_string()));
        }
        Ok(())
    }
}
