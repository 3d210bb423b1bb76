//! The predictor's image encoders: MobileSAM's TinyViT-5M from
//! candle-transformers (vendored in [`super::sam`]; 1024 × 1024 input,
//! 256-channel 64 × 64 embedding) or a compact convolutional stand-in with the
//! same output contract (`(1, embed_dim, size/16, size/16)`) that keeps CPU
//! runs and tests fast.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use super::sam::tiny_vit::{tiny_vit_5m, TinyViT};
use super::sam::LayerNorm2d;

/// Four stride-2 3×3 convolutions with GELU, then a `LayerNorm2d` neck.
pub struct CompactEncoder {
    stages: Vec<Conv2d>,
    neck: LayerNorm2d,
}

impl std::fmt::Debug for CompactEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactEncoder")
            .field("stages", &self.stages.len())
            .finish_non_exhaustive()
    }
}

impl CompactEncoder {
    /// Widths `widths[0..3]` then `embed_dim`.
    pub fn new(widths: [usize; 3], embed_dim: usize, vb: VarBuilder) -> Result<Self> {
        let cfg = Conv2dConfig {
            padding: 1,
            stride: 2,
            ..Default::default()
        };
        let channels = [3, widths[0], widths[1], widths[2], embed_dim];
        let stages = channels
            .windows(2)
            .enumerate()
            .map(|(i, c)| candle_nn::conv2d(c[0], c[1], 3, cfg, vb.pp(format!("stages.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let neck = LayerNorm2d::new(embed_dim, 1e-6, vb.pp("neck"))?;
        Ok(Self { stages, neck })
    }
}

impl Module for CompactEncoder {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = xs.clone();
        for (i, stage) in self.stages.iter().enumerate() {
            xs = stage.forward(&xs)?;
            if i + 1 < self.stages.len() {
                xs = xs.gelu()?;
            }
        }
        self.neck.forward(&xs)
    }
}

/// Either encoder.
pub enum ImageEncoder {
    TinyVit(Box<TinyViT>),
    Compact(CompactEncoder),
}

impl std::fmt::Debug for ImageEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageEncoder::TinyVit(_) => f.write_str("ImageEncoder::TinyVit(..)"),
            ImageEncoder::Compact(enc) => f.debug_tuple("ImageEncoder::Compact").field(enc).finish(),
        }
    }
}

impl ImageEncoder {
    /// MobileSAM's TinyViT-5M (`image_encoder.*` tensor names).
    pub fn tiny_vit_5m(vb: VarBuilder) -> Result<Self> {
        Ok(ImageEncoder::TinyVit(Box::new(tiny_vit_5m(vb)?)))
    }
}

impl Module for ImageEncoder {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            ImageEncoder::TinyVit(vit) => vit.forward(xs),
            ImageEncoder::Compact(enc) => enc.forward(xs),
        }
    }
}
