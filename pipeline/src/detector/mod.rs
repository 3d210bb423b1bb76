//! A DETR-family detector: a convolutional backbone (the small preset's
//! compact [`backbone`], or a [`resnet`] at real size), a transformer
//! [`encoder`] (real size only), a transformer [`decoder`] over learned
//! queries, and a D-FINE-style on-device [`postprocess`].
//!
//! The models run in the weights' dtype (f32, or bf16/f16 where the device
//! supports them: [`crate::config::check_dtype`]); the frame is cast to it on
//! the way in and the heads' outputs back to f32 on the way out, on the
//! device, so the postprocess and the tracker always see f32.

pub mod backbone;
pub mod decoder;
pub mod encoder;
pub mod postprocess;
pub mod resnet;
pub mod select;

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::flops::Flops;
use crate::transfer::Gate;

pub use backbone::Backbone;
pub use decoder::Decoder;
pub use encoder::Encoder;
pub use postprocess::{Detections, HostDetections, PostProcess};
pub use resnet::{ResNet, ResNetDepth};

/// Which backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackboneKind {
    /// [`Backbone`]: four stride-2 3×3 convolutions with SiLU, widths
    /// `width, 2·width, 4·width, d_model` (stride 16).
    Compact { width: usize },
    /// [`ResNet`] (BatchNorm folded) and a 1×1 projection to `d_model` (stride 32).
    ResNet(ResNetDepth),
}

impl BackboneKind {
    /// The feature map's side for `size × size` frames.
    pub fn grid(self, size: usize) -> usize {
        match self {
            BackboneKind::Compact { .. } => size / 16,
            BackboneKind::ResNet(_) => ResNet::grid(size),
        }
    }
}

/// The detector's sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    pub backbone: BackboneKind,
    /// Transformer width.
    pub d_model: usize,
    pub heads: usize,
    /// Transformer encoder layers over the feature tokens (0: none).
    pub encoder_layers: usize,
    /// Transformer decoder layers.
    pub decoder_layers: usize,
    /// The hidden width of the encoder's and decoder's MLPs.
    pub ffn_dim: usize,
    /// `N`: learned queries.
    pub queries: usize,
    pub classes: usize,
    /// `K`: detections kept per frame.
    pub top_k: usize,
    pub score_threshold: f32,
}

impl DetectorConfig {
    /// The small preset's detector (`--preset small`): a compact CNN, no
    /// encoder, two decoder layers of width 64, 32 queries.
    pub fn small() -> Self {
        DetectorConfig {
            backbone: BackboneKind::Compact { width: 16 },
            d_model: 64,
            heads: 4,
            encoder_layers: 0,
            decoder_layers: 2,
            ffn_dim: 256,
            queries: 32,
            classes: 8,
            top_k: 8,
            score_threshold: 0.5,
        }
    }

    /// The real-size preset's detector (`--preset real`), DETR-family at the
    /// size of RT-DETR-R18 / D-FINE: a ResNet-18 backbone (stride 32: a 20 × 20
    /// map at 640 × 640), six encoder and six decoder layers of width 256 with
    /// 8 heads and 1024-wide MLPs, 300 queries, 80 classes, the top 20
    /// detections kept. Single-scale, with full (not deformable) attention:
    /// candle has no deformable-attention op, and sampling offsets would need
    /// a custom kernel.
    pub fn real() -> Self {
        DetectorConfig {
            backbone: BackboneKind::ResNet(ResNetDepth::R18),
            d_model: 256,
            heads: 8,
            encoder_layers: 6,
            decoder_layers: 6,
            ffn_dim: 1024,
            queries: 300,
            classes: 80,
            top_k: 20,
            score_threshold: 0.5,
        }
    }

    /// A tiny one for tests.
    pub fn tiny() -> Self {
        DetectorConfig {
            backbone: BackboneKind::Compact { width: 4 },
            d_model: 16,
            heads: 2,
            encoder_layers: 0,
            decoder_layers: 1,
            ffn_dim: 64,
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
        let width_ok = match self.backbone {
            BackboneKind::Compact { width } => width > 0,
            BackboneKind::ResNet(_) => true,
        };
        if !width_ok || self.decoder_layers == 0 || self.ffn_dim == 0 {
            return Err("detector width, decoder layers and MLP width must be positive".to_string());
        }
        Ok(())
    }

    /// One frame's work on `size × size` frames ([`crate::flops`]).
    pub fn flops(&self, size: usize) -> Flops {
        let grid = self.backbone.grid(size);
        let memory = grid * grid;
        let backbone = match self.backbone {
            BackboneKind::Compact { width } => Backbone::flops(width, self.d_model, size),
            BackboneKind::ResNet(depth) => ResNet::flops(depth, self.d_model, size),
        };
        let (d, h, f) = (self.d_model, self.heads, self.ffn_dim);
        let encoder = encoder::EncoderLayer::flops(d, h, f, memory) * self.encoder_layers;
        let decoder = decoder::DecoderLayer::flops(d, h, f, self.queries, memory) * self.decoder_layers;
        let heads = Flops::linear(self.queries, d, self.classes)
            + Flops::linear(self.queries, d, d)
            + Flops::linear(self.queries, d, 4);
        backbone + encoder + decoder + heads
    }
}

/// Either backbone; both give `(1, d_model, g, g)`.
#[derive(Debug, Clone)]
pub enum BackboneNet {
    Compact(Backbone),
    ResNet(Box<ResNet>),
}

impl Module for BackboneNet {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            BackboneNet::Compact(b) => b.forward(xs),
            BackboneNet::ResNet(r) => r.forward(xs),
        }
    }
}

/// Backbone, decoder and postprocess for `size × size` frames.
#[derive(Clone)]
pub struct Detector {
    backbone: BackboneNet,
    encoder: Option<Encoder>,
    decoder: Decoder,
    postprocess: PostProcess,
    /// The weights' and activations' dtype.
    dtype: DType,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("backbone", &self.backbone)
            .field("encoder", &self.encoder)
            .field("decoder", &self.decoder)
            .field("dtype", &self.dtype)
            .field("postprocess", &self.postprocess)
            .finish()
    }
}

impl Detector {
    /// `size` must be a multiple of 16 (checked by the pipeline's config).
    /// The weights come in `vb`'s dtype; the decoder's position encoding is
    /// uploaded through `gate`.
    pub fn new(cfg: &DetectorConfig, size: usize, vb: VarBuilder, gate: &Gate) -> Result<Self> {
        let backbone = match cfg.backbone {
            BackboneKind::Compact { width } => {
                BackboneNet::Compact(Backbone::new(width, cfg.d_model, vb.pp("backbone"))?)
            }
            BackboneKind::ResNet(depth) => BackboneNet::ResNet(Box::new(ResNet::new(
                depth,
                cfg.d_model,
                vb.pp("backbone"),
                vb.pp("input_proj"),
            )?)),
        };
        let encoder = match cfg.encoder_layers {
            0 => None,
            layers => Some(Encoder::new(
                cfg.d_model,
                cfg.heads,
                cfg.ffn_dim,
                layers,
                vb.pp("encoder"),
            )?),
        };
        Ok(Self {
            backbone,
            encoder,
            decoder: Decoder::new(
                cfg.d_model,
                cfg.heads,
                cfg.ffn_dim,
                cfg.decoder_layers,
                cfg.queries,
                cfg.classes,
                cfg.backbone.grid(size),
                vb.pp("decoder"),
                gate,
            )?,
            postprocess: PostProcess {
                top_k: cfg.top_k,
                score_threshold: cfg.score_threshold,
                width: size,
                height: size,
            },
            dtype: vb.dtype(),
        })
    }

    /// The raw heads of an f32 frame: `(logits (1, N, C), boxes (1, N, 4))`, f32.
    pub fn forward(&self, frame: &Tensor) -> Result<(Tensor, Tensor)> {
        let features = self.backbone.forward(&frame.to_dtype(self.dtype)?)?;
        let memory = features.flatten_from(2)?.transpose(1, 2)?.contiguous()?;
        let memory = match &self.encoder {
            Some(encoder) => encoder.forward(&memory, self.decoder.memory_pos())?,
            None => memory,
        };
        let (logits, boxes) = self.decoder.forward(&memory)?;
        Ok((logits.to_dtype(DType::F32)?, boxes.to_dtype(DType::F32)?))
    }

    /// The postprocess this detector uses.
    pub fn postprocess(&self) -> &PostProcess {
        &self.postprocess
    }
}
