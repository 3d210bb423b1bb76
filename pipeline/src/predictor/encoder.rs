//! The predictor's image encoders: MobileSAM's TinyViT-5M from
//! candle-transformers (vendored in [`super::sam`]; 1024 × 1024 input,
//! 256-channel 64 × 64 embedding) or a compact convolutional stand-in with the
//! same output contract (`(1, embed_dim, size/16, size/16)`) that keeps CPU
//! runs and tests fast.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use super::sam::tiny_vit::{tiny_vit_5m, TinyViT};
use super::sam::LayerNorm2d;
use crate::flops::{conv_out, Flops};

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

    /// The four convolutions' work on a `size × size` input.
    pub fn flops(widths: [usize; 3], embed_dim: usize, size: usize) -> Flops {
        Flops::stride2_conv_stack(&[3, widths[0], widths[1], widths[2], embed_dim], size)
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

/// TinyViT-5M as `sam::tiny_vit::tiny_vit_5m` builds it (1024 × 1024 input).
const TINY_VIT_5M: TinyVitSizes = TinyVitSizes {
    image: 1024,
    embed_dims: [64, 128, 160, 320],
    depths: [2, 2, 6, 2],
    num_heads: [2, 4, 5, 10],
    window_sizes: [7, 7, 14, 7],
};

/// The sizes `sam::tiny_vit::TinyViT::new` takes, with its constants: MBConv
/// expansion 4, MLP ratio 4, 3 × 3 local convolutions, a 256-wide neck.
struct TinyVitSizes {
    image: usize,
    embed_dims: [usize; 4],
    depths: [usize; 4],
    num_heads: [usize; 4],
    window_sizes: [usize; 4],
}

/// A `PatchMerging` from `dim` to `out` channels on a `side × side` map:
/// its work and its output side (stride 1 for the widths MobileSAM keeps at 64 × 64).
fn patch_merging_flops(dim: usize, out: usize, side: usize) -> (Flops, usize) {
    let stride = if [320, 448, 576].contains(&out) { 1 } else { 2 };
    let out_side = conv_out(side, 3, stride, 1);
    let flops = Flops::conv2d(dim, out, 1, 1, side, side)
        + Flops::conv2d(out, out, 3, out, out_side, out_side)
        + Flops::conv2d(out, out, 1, 1, out_side, out_side);
    (flops, out_side)
}

/// A `TinyViTBlock` of width `dim` on a `side × side` map: windowed attention
/// (the map padded to whole windows, the projections run on the padding too,
/// as the code does), a depthwise 3 × 3 convolution and the MLP.
fn tiny_vit_block_flops(dim: usize, side: usize, heads: usize, window: usize) -> Flops {
    let (windows, tokens) = if side == window {
        (1, side * side)
    } else {
        let padded = side.div_ceil(window) * window;
        ((padded / window).pow(2), window * window)
    };
    let head_dim = dim / heads;
    let all_tokens = windows * tokens;
    let attention = Flops::linear(all_tokens, dim, 3 * dim)
        + Flops::attention(heads, tokens, tokens, head_dim, head_dim) * windows
        + Flops::linear(all_tokens, dim, dim);
    let local_conv = Flops::conv2d(dim, dim, 3, dim, side, side);
    let mlp = Flops::linear(side * side, dim, 4 * dim) + Flops::linear(side * side, 4 * dim, dim);
    attention + local_conv + mlp
}

/// TinyViT-5M's work on its 1024 × 1024 input ([`crate::flops`]).
pub fn tiny_vit_5m_flops() -> Flops {
    let s = &TINY_VIT_5M;
    let e = s.embed_dims;
    // Patch embedding: two stride-2 3 × 3 convolutions.
    let half = conv_out(s.image, 3, 2, 1);
    let quarter = conv_out(half, 3, 2, 1);
    let mut total =
        Flops::conv2d(3, e[0] / 2, 3, 1, half, half) + Flops::conv2d(e[0] / 2, e[0], 3, 1, quarter, quarter);
    // Stage 0: MBConv blocks (1 × 1 expand, depthwise 3 × 3, 1 × 1 project), then a merge.
    let hidden = 4 * e[0];
    let mbconv = Flops::conv2d(e[0], hidden, 1, 1, quarter, quarter)
        + Flops::conv2d(hidden, hidden, 3, hidden, quarter, quarter)
        + Flops::conv2d(hidden, e[0], 1, 1, quarter, quarter);
    total += mbconv * s.depths[0];
    let (merge, mut side) = patch_merging_flops(e[0], e[1], quarter);
    total += merge;
    // Stages 1–3: TinyViT blocks; a merge after each but the last.
    for i in 1..4 {
        total += tiny_vit_block_flops(e[i], side, s.num_heads[i], s.window_sizes[i]) * s.depths[i];
        if i < 3 {
            let (merge, out_side) = patch_merging_flops(e[i], e[i + 1], side);
            total += merge;
            side = out_side;
        }
    }
    // The neck: 1 × 1 to 256, then 3 × 3.
    total + Flops::conv2d(e[3], 256, 1, 1, side, side) + Flops::conv2d(256, 256, 3, 1, side, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_encoder_flops_by_hand() {
        // widths 4, 8, 16 and 16 at 32 × 32: 16², 8², 4², 2² outputs.
        let expected = 2 * 9 * (4 * 3 * 256 + 8 * 4 * 64 + 16 * 8 * 16 + 16 * 16 * 4);
        assert_eq!(CompactEncoder::flops([4, 8, 16], 16, 32).total(), expected);
    }

    #[test]
    fn a_tiny_vit_block_by_hand() {
        // One 2 × 2 window of width 4, 2 heads (2 channels each), on a 2 × 2 map.
        let qkv = 2 * 4 * 4 * 12;
        let attention = 2 * 2 * 4 * 4 * (2 + 2);
        let proj = 2 * 4 * 4 * 4;
        let local_conv = 2 * 4 * 9 * 4;
        let mlp = 2 * (2 * 4 * 4 * 16);
        assert_eq!(
            tiny_vit_block_flops(4, 2, 2, 2).total(),
            qkv + attention + proj + local_conv + mlp
        );
        // A 3 × 3 map in 2 × 2 windows is padded to 4 × 4: four windows of 4 tokens.
        let padded = tiny_vit_block_flops(4, 3, 2, 2);
        assert_eq!(padded.attention, 4 * attention);
        assert_eq!(padded.conv, 2 * 4 * 9 * 9);
    }
}
