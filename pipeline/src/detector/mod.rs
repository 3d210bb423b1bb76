//! A compact DETR-style detector: a convolutional [`backbone`], a transformer
//! [`decoder`] over learned queries, and a D-FINE-style on-device
//! [`postprocess`].

pub mod backbone;
pub mod decoder;
pub mod postprocess;

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::transfer::Gate;

pub use backbone::Backbone;
pub use decoder::Decoder;
pub use postprocess::{Detections, HostDetections, PostProcess};

/// The detector's sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Backbone base width (`w, 2w, 4w`).
    pub width: usize,
    /// Transformer width.
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    /// `N`: learned queries.
    pub queries: usize,
    pub classes: usize,
    /// `K`: detections kept per frame.
    pub top_k: usize,
    pub score_threshold: f32,
}

impl DetectorConfig {
    /// The default for `d2h pipeline run`.
    pub fn standard() -> Self {
        DetectorConfig {
            width: 16,
            d_model: 64,
            heads: 4,
            layers: 2,
            queries: 32,
            classes: 8,
            top_k: 8,
            score_threshold: 0.5,
        }
    }

    /// A tiny one for tests.
    pub fn tiny() -> Self {
        DetectorConfig {
            width: 4,
            d_model: 16,
            heads: 2,
            layers: 1,
            queries: 8,
            classes: 3,
            top_k: 4,
            score_threshold: 0.5,
        }
    }

    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(format!(
                "detector d_model {} must be a multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        if self.top_k == 0 || self.top_k > self.queries * self.classes {
            return Err(format!(
                "detector top_k {} must be in 1..={} (queries × classes)",
                self.top_k,
                self.queries * self.classes
            ));
        }
        if self.width == 0 || self.layers == 0 {
            return Err("detector width and layers must be positive".to_string());
        }
        Ok(())
    }
}

/// Backbone, decoder and postprocess for `size × size` frames.
#[derive(Clone)]
pub struct Detector {
    backbone: Backbone,
    decoder: Decoder,
    postprocess: PostProcess,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("backbone", &self.backbone)
            .field("decoder", &self.decoder)
            .field("postprocess", &self.postprocess)
            .finish()
    }
}

impl Detector {
    /// `size` must be a multiple of 16 (checked by the pipeline's config).
    /// The decoder's position encoding is uploaded through `gate`.
    pub fn new(cfg: &DetectorConfig, size: usize, vb: VarBuilder, gate: &Gate) -> Result<Self> {
        Ok(Self {
            backbone: Backbone::new(cfg.width, cfg.d_model, vb.pp("backbone"))?,
            decoder: Decoder::new(
                cfg.d_model,
                cfg.heads,
                cfg.layers,
                cfg.queries,
                cfg.classes,
                size / 16,
                vb.pp("decoder"),
                gate,
            )?,
            postprocess: PostProcess {
                top_k: cfg.top_k,
                score_threshold: cfg.score_threshold,
                width: size,
                height: size,
            },
        })
    }

    /// The raw heads: `(logits (1, N, C), boxes (1, N, 4))`.
    pub fn forward(&self, frame: &Tensor) -> Result<(Tensor, Tensor)> {
        let features = self.backbone.forward(frame)?;
        self.decoder.forward(&features)
    }

    /// The postprocess this detector uses.
    pub fn postprocess(&self) -> &PostProcess {
        &self.postprocess
    }
}
