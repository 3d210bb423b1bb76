//! Floating-point work per frame, counted analytically from the model
//! configurations (no profiler, no device): what `d2h pipeline run` reports
//! as GFLOPs per frame beside the latency.
//!
//! What is counted: the multiply–adds of
//! * convolutions ([`Flops::conv2d`]: `2 · c_out · c_in/groups · k_h · k_w ·
//!   h_out · w_out`, grouped and depthwise ones included) and transposed
//!   convolutions ([`Flops::conv_transpose2d`]: `2 · c_in · c_out · k_h · k_w
//!   · h_in · w_in`);
//! * linear layers ([`Flops::linear`]: `2 · tokens · in · out`) and the other
//!   plain matrix products of a model (the mask decoder's mask product);
//! * attention's two matrix products ([`Flops::attention`]: `QKᵀ` and `AV`,
//!   `2 · heads · q_tokens · k_tokens · (d_k + d_v)`).
//!
//! One multiply–add is 2 FLOPs. Not counted: biases, normalisations
//! (BatchNorm is folded into the convolutions anyway), activations, softmax,
//! residual additions, resizes, pooling, padding and copies, and the
//! on-device postprocess and tracker (elementwise work, sorts and a small
//! assignment): together a few percent of the total at most, and not
//! "FLOPs" in the sense the figure is compared with (a GPU's matmul peak).
//!
//! The per-model counts ([`crate::detector::DetectorConfig::flops`],
//! [`crate::predictor::PredictorConfig::flops`]) mirror the layers the
//! models build, layer by layer; [`crate::PipelineConfig::flops`] adds them up
//! for one frame.

use std::ops::{Add, AddAssign, Mul};

/// FLOPs by kind of layer (each a count of FLOPs, 2 per multiply–add).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flops {
    /// Convolutions, plain, grouped, depthwise and transposed.
    pub conv: u64,
    /// Linear layers and other plain matrix products.
    pub linear: u64,
    /// Attention's `QKᵀ` and `AV` products.
    pub attention: u64,
}

/// The output side of a convolution (or pooling) over `input` pixels:
/// `(input + 2·padding − kernel) / stride + 1`, 0 when the kernel does not fit.
pub fn conv_out(input: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    let padded = input + 2 * padding;
    if padded < kernel || stride == 0 {
        0
    } else {
        (padded - kernel) / stride + 1
    }
}

fn n(x: usize) -> u64 {
    x as u64
}

impl Flops {
    /// No work.
    pub const ZERO: Flops = Flops {
        conv: 0,
        linear: 0,
        attention: 0,
    };

    /// A square `k × k` convolution from `c_in` to `c_out` channels in
    /// `groups` groups, producing an `h_out × w_out` map (batch 1).
    pub fn conv2d(c_in: usize, c_out: usize, k: usize, groups: usize, h_out: usize, w_out: usize) -> Flops {
        let per_group_in = c_in / groups.max(1);
        Flops {
            conv: 2 * n(c_out) * n(per_group_in) * n(k) * n(k) * n(h_out) * n(w_out),
            ..Flops::ZERO
        }
    }

    /// A stack of 3 × 3, stride-2, padding-1 convolutions through `channels`
    /// (`[3, 16, 32, ...]`) on a `size × size` input: each halves the side.
    pub fn stride2_conv_stack(channels: &[usize], size: usize) -> Flops {
        let mut side = size;
        channels
            .windows(2)
            .map(|c| {
                side = conv_out(side, 3, 2, 1);
                Flops::conv2d(c[0], c[1], 3, 1, side, side)
            })
            .sum()
    }

    /// A square `k × k` transposed convolution from `c_in` to `c_out`
    /// channels over an `h_in × w_in` input (batch 1): every input pixel
    /// scatters `c_out · k²` products of each input channel.
    pub fn conv_transpose2d(c_in: usize, c_out: usize, k: usize, h_in: usize, w_in: usize) -> Flops {
        Flops {
            conv: 2 * n(c_in) * n(c_out) * n(k) * n(k) * n(h_in) * n(w_in),
            ..Flops::ZERO
        }
    }

    /// A linear layer `in_dim → out_dim` over `tokens` rows (or any
    /// `(tokens × in_dim) · (in_dim × out_dim)` product).
    pub fn linear(tokens: usize, in_dim: usize, out_dim: usize) -> Flops {
        Flops {
            linear: 2 * n(tokens) * n(in_dim) * n(out_dim),
            ..Flops::ZERO
        }
    }

    /// The two products of `heads`-head attention of `q_tokens` queries over
    /// `k_tokens` keys, with `d_k` (query/key) and `d_v` (value) channels per
    /// head: `QKᵀ` and `AV`. Projections are [`Flops::linear`]s, counted apart.
    pub fn attention(heads: usize, q_tokens: usize, k_tokens: usize, d_k: usize, d_v: usize) -> Flops {
        Flops {
            attention: 2 * n(heads) * n(q_tokens) * n(k_tokens) * (n(d_k) + n(d_v)),
            ..Flops::ZERO
        }
    }

    /// Every kind together.
    pub fn total(&self) -> u64 {
        self.conv + self.linear + self.attention
    }

    /// [`Flops::total`] in GFLOPs (10⁹).
    pub fn gflops(&self) -> f64 {
        self.total() as f64 / 1e9
    }
}

impl Add for Flops {
    type Output = Flops;
    fn add(self, rhs: Flops) -> Flops {
        Flops {
            conv: self.conv + rhs.conv,
            linear: self.linear + rhs.linear,
            attention: self.attention + rhs.attention,
        }
    }
}

impl AddAssign for Flops {
    fn add_assign(&mut self, rhs: Flops) {
        *self = *self + rhs;
    }
}

/// `count` copies of the same work (layers of a stack, prompts of a batch).
impl Mul<usize> for Flops {
    type Output = Flops;
    fn mul(self, count: usize) -> Flops {
        Flops {
            conv: self.conv * n(count),
            linear: self.linear * n(count),
            attention: self.attention * n(count),
        }
    }
}

impl std::iter::Sum for Flops {
    fn sum<I: Iterator<Item = Flops>>(iter: I) -> Flops {
        iter.fold(Flops::ZERO, Add::add)
    }
}

/// One frame's work, by model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameFlops {
    /// Backbone, transformer encoder (if any), decoder and heads.
    pub detector: Flops,
    /// Image encoder, prompt embedding and the mask decoder over the frame's `K` prompts.
    pub predictor: Flops,
}

impl FrameFlops {
    pub fn total(&self) -> Flops {
        self.detector + self.predictor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sides_follow_the_convolution_arithmetic() {
        assert_eq!(conv_out(64, 3, 2, 1), 32);
        assert_eq!(conv_out(640, 7, 2, 3), 320);
        assert_eq!(conv_out(322, 3, 2, 0), 160); // ResNet's max pool after a 1-pixel pad
        assert_eq!(conv_out(5, 3, 1, 1), 5);
        assert_eq!(conv_out(7, 2, 2, 0), 3);
        assert_eq!(conv_out(1, 3, 1, 0), 0);
    }

    #[test]
    fn a_single_convolution_by_hand() {
        // 3 → 8 channels, 3 × 3, onto a 4 × 4 map: each of the 8·16 outputs
        // is 3·9 = 27 multiply–adds: 3,456 multiply–adds, 6,912 FLOPs.
        let f = Flops::conv2d(3, 8, 3, 1, 4, 4);
        assert_eq!(f.conv, 6_912);
        assert_eq!(f.total(), 6_912);
        assert_eq!((f.linear, f.attention), (0, 0));
        // A 1 × 1 convolution is a linear layer over the pixels.
        assert_eq!(Flops::conv2d(16, 32, 1, 1, 5, 5).conv, Flops::linear(25, 16, 32).linear);
    }

    #[test]
    fn a_depthwise_convolution_has_one_input_channel_per_output() {
        // 6 channels in 6 groups, 3 × 3, 2 × 2 outputs: 6·4 outputs of 9 multiply–adds.
        assert_eq!(Flops::conv2d(6, 6, 3, 6, 2, 2).conv, 2 * 6 * 4 * 9);
        // Two groups halve a dense convolution.
        assert_eq!(
            Flops::conv2d(8, 8, 3, 2, 7, 7).conv * 2,
            Flops::conv2d(8, 8, 3, 1, 7, 7).conv
        );
    }

    #[test]
    fn a_transposed_convolution_by_hand() {
        // 4 → 2 channels, 2 × 2 kernel, stride 2, over 3 × 3 inputs: each input
        // pixel and channel scatters 2·4 products: 9·4·8 = 288 multiply–adds.
        assert_eq!(Flops::conv_transpose2d(4, 2, 2, 3, 3).conv, 576);
    }

    #[test]
    fn linear_and_attention_by_hand() {
        // 10 tokens through a 4 → 6 layer: 240 multiply–adds.
        assert_eq!(Flops::linear(10, 4, 6).linear, 480);
        // 2 heads, 3 queries over 5 keys, 4 channels each way: QKᵀ is
        // 2·3·5·4 = 120 multiply–adds and AV as many.
        let a = Flops::attention(2, 3, 5, 4, 4);
        assert_eq!(a.attention, 480);
        assert_eq!(a.total(), 480);
    }

    #[test]
    fn sums_and_multiples() {
        let a = Flops::conv2d(1, 1, 1, 1, 1, 1) + Flops::linear(1, 1, 1) + Flops::attention(1, 1, 1, 1, 1);
        assert_eq!((a.conv, a.linear, a.attention), (2, 2, 4));
        assert_eq!((a * 3).total(), 24);
        assert_eq!([a, a].into_iter().sum::<Flops>(), a * 2);
        assert!((Flops::linear(1000, 1000, 500).gflops() - 1.0).abs() < 1e-12);
        let frame = FrameFlops {
            detector: a,
            predictor: a * 2,
        };
        assert_eq!(frame.total(), a * 3);
    }
}
