//! A ResNet-18/34 backbone (He et al., torchvision's layout and tensor
//! names) for the real-size detector: a 7 × 7 stride-2 stem, a 3 × 3 stride-2
//! max pool, four stages of basic blocks (64, 128, 256, 512 channels, the last
//! three starting with a stride of 2), then DETR's 1 × 1 input projection to
//! `d_model`. A `(1, 3, S, S)` frame becomes a `(1, d_model, ⌈S/32⌉, ⌈S/32⌉)`
//! feature map.
//!
//! BatchNorm (inference form) is folded into the convolution before it when
//! the backbone is built, on the device ([`ConvBn`]). Every op is a candle
//! tensor op on the device: no host work, at setup or per frame.

use std::fmt;

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::flops::{conv_out, Flops};
use crate::layers::ConvBn;

/// Channels of the four stages.
pub const STAGE_WIDTHS: [usize; 4] = [64, 128, 256, 512];

/// Which ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResNetDepth {
    /// Basic blocks `[2, 2, 2, 2]`.
    R18,
    /// Basic blocks `[3, 4, 6, 3]`.
    R34,
}

impl ResNetDepth {
    /// Basic blocks per stage.
    pub fn blocks(self) -> [usize; 4] {
        match self {
            ResNetDepth::R18 => [2, 2, 2, 2],
            ResNetDepth::R34 => [3, 4, 6, 3],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResNetDepth::R18 => "ResNet-18",
            ResNetDepth::R34 => "ResNet-34",
        }
    }
}

fn conv_cfg(stride: usize, padding: usize) -> Conv2dConfig {
    Conv2dConfig {
        stride,
        padding,
        ..Default::default()
    }
}

/// Two 3 × 3 convolutions with a residual; a 1 × 1 strided projection on the
/// shortcut where the width or the resolution changes.
#[derive(Debug, Clone)]
pub struct BasicBlock {
    conv1: ConvBn,
    conv2: ConvBn,
    downsample: Option<ConvBn>,
}

impl BasicBlock {
    pub fn new(c_in: usize, c_out: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let conv1 = ConvBn::new(c_in, c_out, 3, conv_cfg(stride, 1), vb.pp("conv1"), vb.pp("bn1"))?;
        let conv2 = ConvBn::new(c_out, c_out, 3, conv_cfg(1, 1), vb.pp("conv2"), vb.pp("bn2"))?;
        let downsample = if stride != 1 || c_in != c_out {
            Some(ConvBn::new(
                c_in,
                c_out,
                1,
                conv_cfg(stride, 0),
                vb.pp("downsample.0"),
                vb.pp("downsample.1"),
            )?)
        } else {
            None
        };
        Ok(Self {
            conv1,
            conv2,
            downsample,
        })
    }
}

impl Module for BasicBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let shortcut = match &self.downsample {
            Some(down) => down.forward(xs)?,
            None => xs.clone(),
        };
        let ys = self.conv1.forward(xs)?.relu()?;
        let ys = self.conv2.forward(&ys)?;
        (ys + shortcut)?.relu()
    }
}

/// The backbone and the input projection. `Debug` prints its shape, not its weights.
#[derive(Clone)]
pub struct ResNet {
    stem: ConvBn,
    stages: Vec<Vec<BasicBlock>>,
    input_proj: Conv2d,
}

impl fmt::Debug for ResNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks: Vec<usize> = self.stages.iter().map(Vec::len).collect();
        f.debug_struct("ResNet")
            .field("blocks", &blocks)
            .field("input_proj", &self.input_proj.weight().dims())
            .finish_non_exhaustive()
    }
}

impl ResNet {
    /// `vb` holds the backbone's torchvision names (`conv1`, `bn1`,
    /// `layer1.0.conv1`, …); `vb_proj` the input projection (`weight`, `bias`).
    pub fn new(depth: ResNetDepth, d_model: usize, vb: VarBuilder, vb_proj: VarBuilder) -> Result<Self> {
        let stem = ConvBn::new(3, STAGE_WIDTHS[0], 7, conv_cfg(2, 3), vb.pp("conv1"), vb.pp("bn1"))?;
        let mut stages = Vec::with_capacity(4);
        let mut c_in = STAGE_WIDTHS[0];
        for (i, (&width, &blocks)) in STAGE_WIDTHS.iter().zip(depth.blocks().iter()).enumerate() {
            let vb_stage = vb.pp(format!("layer{}", i + 1));
            let stage = (0..blocks)
                .map(|b| {
                    let stride = if b == 0 && i > 0 { 2 } else { 1 };
                    let block_in = if b == 0 { c_in } else { width };
                    BasicBlock::new(block_in, width, stride, vb_stage.pp(b))
                })
                .collect::<Result<Vec<_>>>()?;
            stages.push(stage);
            c_in = width;
        }
        let input_proj = candle_nn::conv2d(STAGE_WIDTHS[3], d_model, 1, Default::default(), vb_proj)?;
        Ok(Self {
            stem,
            stages,
            input_proj,
        })
    }

    /// The feature map's side for `size × size` frames: `⌈size / 32⌉`.
    pub fn grid(size: usize) -> usize {
        let mut side = conv_out(size, 7, 2, 3); // stem
        side = conv_out(side, 3, 2, 1); // max pool (padded by 1)
        for _ in 0..3 {
            side = conv_out(side, 3, 2, 1); // the first block of stages 2–4
        }
        side
    }

    /// The backbone's and the projection's work on a `size × size` frame.
    pub fn flops(depth: ResNetDepth, d_model: usize, size: usize) -> Flops {
        let mut side = conv_out(size, 7, 2, 3);
        let mut total = Flops::conv2d(3, STAGE_WIDTHS[0], 7, 1, side, side);
        side = conv_out(side, 3, 2, 1);
        let mut c_in = STAGE_WIDTHS[0];
        for (i, (&width, &blocks)) in STAGE_WIDTHS.iter().zip(depth.blocks().iter()).enumerate() {
            for b in 0..blocks {
                let stride = if b == 0 && i > 0 { 2 } else { 1 };
                let block_in = if b == 0 { c_in } else { width };
                let out = conv_out(side, 3, stride, 1);
                total += Flops::conv2d(block_in, width, 3, 1, out, out);
                total += Flops::conv2d(width, width, 3, 1, out, out);
                if stride != 1 || block_in != width {
                    total += Flops::conv2d(block_in, width, 1, 1, out, out);
                }
                side = out;
            }
            c_in = width;
        }
        total + Flops::conv2d(STAGE_WIDTHS[3], d_model, 1, 1, side, side)
    }
}

impl Module for ResNet {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.stem.forward(xs)?.relu()?;
        // torchvision pads the max pool by one pixel with −∞; after the ReLU
        // every value is ≥ 0, so zero padding gives the same maxima.
        let mut xs = xs
            .pad_with_zeros(2, 1, 1)?
            .pad_with_zeros(3, 1, 1)?
            .max_pool2d_with_stride(3, 2)?;
        for stage in &self.stages {
            for block in stage {
                xs = block.forward(&xs)?;
            }
        }
        self.input_proj.forward(&xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_the_frame_over_32_rounded_up() {
        for (size, grid) in [(640, 20), (608, 19), (624, 20), (64, 2), (16, 1), (1024, 32)] {
            assert_eq!(ResNet::grid(size), grid, "size {size}");
        }
    }

    #[test]
    fn resnet_18_flops_follow_the_layers() {
        // At 64 × 64: stem 32², pool 16², stages 16², 8², 4², 2².
        let stem = 2 * 64 * 3 * 49 * 32 * 32;
        let stage1 = 4 * (2 * 64 * 64 * 9 * 16 * 16);
        let stage = |c_in: u64, c: u64, side: u64| {
            2 * c * c_in * 9 * side * side + 3 * (2 * c * c * 9 * side * side) + 2 * c * c_in * side * side
        };
        let proj = 2 * 256 * 512 * 2 * 2;
        let expected = stem + stage1 + stage(64, 128, 8) + stage(128, 256, 4) + stage(256, 512, 2) + proj;
        assert_eq!(ResNet::flops(ResNetDepth::R18, 256, 64).total(), expected);
        assert!(ResNet::flops(ResNetDepth::R34, 256, 64).total() > expected);
    }
}
