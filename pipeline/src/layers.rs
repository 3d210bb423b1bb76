//! Convolution blocks shared by the real-size models' CNN parts (the
//! detector's ResNet, MobileSAM's TinyViT): [`ConvBn`], a convolution with its
//! inference-form BatchNorm folded in, and [`DepthwiseConv2d`], a depthwise
//! convolution as `k²` shifted multiply–adds.
//!
//! Both exist for the frame's op count, not for new arithmetic. An unfolded
//! BatchNorm is four more elementwise passes over the convolution's output
//! (candle's `BatchNorm` in eval mode: subtract, divide, multiply, add). And
//! candle 0.11.1 runs a grouped convolution as one convolution per group
//! followed by a concatenation (`Tensor::conv2d` chunks the input and the
//! kernel by group): a depthwise convolution over `C` channels is `C` im2col
//! and GEMM launches plus a `cat`, about 12,000 kernels for TinyViT-5M's
//! image. [`DepthwiseConv2d`] is one kernel whatever `C` is; its former
//! form, `k²` strided-view multiplies and `k² − 1` additions from candle ops
//! only ([`DepthwiseConv2d::forward_shifted`]), stays as the reference the op
//! is tested against.

use std::fmt;

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Init, VarBuilder};

use crate::flops::conv_out;

/// The BatchNorm epsilon of torchvision's ResNets and of TinyViT.
pub const BN_EPS: f64 = 1e-5;

/// A convolution without bias followed by an inference-form BatchNorm,
/// folded when built: `w' = w · γ/√(σ² + ε)` per output channel and
/// `b' = β − μ · γ/√(σ² + ε)`, the exact eval-mode rewrite, computed in f32
/// on the device and cast to the weights' dtype. A depthwise convolution
/// (`groups == c_in == c_out`) runs as a [`DepthwiseConv2d`].
#[derive(Clone)]
pub struct ConvBn {
    conv: ConvKind,
}

#[derive(Clone)]
enum ConvKind {
    /// The convolution without its bias, and the bias `(C_out,)`, added by
    /// [`crate::bias::add_bias`].
    Dense(Conv2d, Tensor),
    Depthwise(DepthwiseConv2d),
}

impl fmt::Debug for ConvBn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, dims) = match &self.conv {
            ConvKind::Dense(c, _) => ("dense", c.weight().dims()),
            ConvKind::Depthwise(d) => ("depthwise", d.weight.dims()),
        };
        f.debug_struct("ConvBn")
            .field("kind", &kind)
            .field("weight", &dims)
            .finish_non_exhaustive()
    }
}

impl ConvBn {
    /// A `k × k` convolution named `vb_conv` (its `weight`, no bias) and the
    /// BatchNorm named `vb_bn` (`weight`, `bias`, `running_mean`,
    /// `running_var`), folded: torchvision's `conv1`/`bn1` siblings, or
    /// TinyViT's `c`/`bn`.
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        cfg: Conv2dConfig,
        vb_conv: VarBuilder,
        vb_bn: VarBuilder,
    ) -> Result<Self> {
        let dtype = vb_conv.dtype();
        let groups = cfg.groups.max(1);
        // The weights as f32 (the backend converts), so the fold is exact to f32.
        let vb_conv = vb_conv.set_dtype(DType::F32);
        let vb_bn = vb_bn.set_dtype(DType::F32);
        let weight = vb_conv.get_with_hints(
            (c_out, c_in / groups, k, k),
            "weight",
            candle_nn::init::DEFAULT_KAIMING_NORMAL,
        )?;
        // candle-nn's `batch_norm` hints: γ = 1, β = 0, μ = 0, σ² = 1.
        let gamma = vb_bn.get_with_hints(c_out, "weight", Init::Const(1.0))?;
        let beta = vb_bn.get_with_hints(c_out, "bias", Init::Const(0.0))?;
        let mean = vb_bn.get_with_hints(c_out, "running_mean", Init::Const(0.0))?;
        let var = vb_bn.get_with_hints(c_out, "running_var", Init::Const(1.0))?;
        let scale = (gamma / (var + BN_EPS)?.sqrt()?)?;
        let weight = weight
            .broadcast_mul(&scale.reshape((c_out, 1, 1, 1))?)?
            .to_dtype(dtype)?;
        let bias = (beta - (mean * &scale)?)?.to_dtype(dtype)?;
        let conv = if groups > 1 && groups == c_in && c_in == c_out && cfg.dilation == 1 {
            ConvKind::Depthwise(DepthwiseConv2d::new(weight, Some(bias), cfg.stride, cfg.padding)?)
        } else {
            ConvKind::Dense(Conv2d::new(weight, None, cfg), bias)
        };
        Ok(Self { conv })
    }
}

impl Module for ConvBn {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match &self.conv {
            ConvKind::Dense(c, bias) => crate::bias::add_bias(&c.forward(xs)?, bias, 1),
            ConvKind::Depthwise(d) => d.forward(xs),
        }
    }
}

/// A depthwise `k × k` convolution (one filter per channel):
/// `y[c, i, j] = b[c] + Σ_{dy,dx} x̂[c, i·s + dy, j·s + dx] · w[c, dy, dx]`,
/// `x̂` the input zero-padded by `padding`, as one
/// [`crate::depthwise::DepthwiseConv`] op.
#[derive(Clone)]
pub struct DepthwiseConv2d {
    /// `(C, 1, k, k)`, contiguous.
    weight: Tensor,
    /// `k²` tensors of `(1, C, 1, 1)`, row-major over `(dy, dx)`, for
    /// [`DepthwiseConv2d::forward_shifted`].
    taps: Vec<Tensor>,
    /// `(1, C, 1, 1)`, for [`DepthwiseConv2d::forward_shifted`].
    bias: Option<Tensor>,
    /// `(C,)`, zeros without a bias, for the op.
    op_bias: Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl fmt::Debug for DepthwiseConv2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DepthwiseConv2d")
            .field("weight", &self.weight.dims())
            .field("stride", &self.stride)
            .field("padding", &self.padding)
            .finish_non_exhaustive()
    }
}

impl DepthwiseConv2d {
    /// `weight: (C, 1, k, k)`, `bias: (C,)`.
    pub fn new(weight: Tensor, bias: Option<Tensor>, stride: usize, padding: usize) -> Result<Self> {
        let (channels, one, k, k2) = weight.dims4()?;
        if one != 1 || k != k2 || k == 0 || stride == 0 {
            candle_core::bail!(
                "a depthwise convolution needs a (C, 1, k, k) weight and a positive stride, got {:?} and stride {stride}",
                weight.dims()
            )
        }
        let by_tap = weight.reshape((channels, k * k))?.t()?.contiguous()?;
        let taps = (0..k * k)
            .map(|i| by_tap.narrow(0, i, 1)?.reshape((1, channels, 1, 1)))
            .collect::<Result<Vec<_>>>()?;
        let op_bias = match &bias {
            Some(b) => b.reshape(channels)?.contiguous()?,
            None => Tensor::zeros(channels, weight.dtype(), weight.device())?,
        };
        let bias = bias.map(|b| b.reshape((1, channels, 1, 1))).transpose()?;
        Ok(Self {
            weight: weight.contiguous()?,
            taps,
            bias,
            op_bias,
            kernel: k,
            stride,
            padding,
        })
    }
}

impl Module for DepthwiseConv2d {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let op = crate::depthwise::DepthwiseConv {
            stride: self.stride,
            padding: self.padding,
        };
        xs.contiguous()?.apply_op3_no_bwd(&self.weight, &self.op_bias, &op)
    }
}

impl DepthwiseConv2d {
    /// The convolution as `k²` shifted multiply–adds of candle ops (about 20
    /// kernels; the form before the op, kept as its reference). A stride
    /// above 1 computes the stride-1 map and keeps every `s`-th row and
    /// column.
    pub fn forward_shifted(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = xs.dims4()?;
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        if c != self.taps[0].dim(1)? {
            candle_core::bail!("depthwise convolution of {} channels given {c}", self.taps[0].dim(1)?)
        }
        let (h_out, w_out) = (conv_out(h, k, s, p), conv_out(w, k, s, p));
        if h_out == 0 || w_out == 0 {
            candle_core::bail!("a {k} x {k} depthwise convolution does not fit a {h} x {w} input padded by {p}")
        }
        let padded = if p > 0 {
            xs.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?
        } else {
            xs.clone()
        };
        // The stride-1 output's side.
        let (h1, w1) = (h + 2 * p + 1 - k, w + 2 * p + 1 - k);
        let mut acc: Option<Tensor> = None;
        for dy in 0..k {
            for dx in 0..k {
                let term = padded
                    .narrow(2, dy, h1)?
                    .narrow(3, dx, w1)?
                    .broadcast_mul(&self.taps[dy * k + dx])?;
                acc = Some(match acc {
                    None => term,
                    Some(sum) => (sum + term)?,
                });
            }
        }
        let Some(mut ys) = acc else {
            candle_core::bail!("empty depthwise kernel")
        };
        if s > 1 {
            // Rows and columns 0, s, 2s, …: pad to whole multiples of s, split, keep index 0.
            ys = ys
                .pad_with_zeros(2, 0, h_out * s - h1)?
                .pad_with_zeros(3, 0, w_out * s - w1)?;
            ys = ys
                .reshape((b, c, h_out, s, w_out, s))?
                .narrow(3, 0, 1)?
                .narrow(5, 0, 1)?
                .reshape((b, c, h_out, w_out))?;
        }
        match &self.bias {
            Some(bias) => ys.broadcast_add(bias),
            None => Ok(ys),
        }
    }
}

/// A linear layer, `y = x Wᵀ + b`: candle-nn's product, and its bias added
/// by [`crate::bias::add_bias`] rather than a broadcast add (the same values;
/// see [`crate::bias`] for why).
#[derive(Clone)]
pub struct Linear {
    product: candle_nn::Linear,
    bias: Option<Tensor>,
}

impl fmt::Debug for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linear")
            .field("weight", &self.product.weight().dims())
            .field("bias", &self.bias.is_some())
            .finish()
    }
}

impl Linear {
    /// `weight: (out, in)`, `bias: (out,)`.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
        Linear {
            product: candle_nn::Linear::new(weight, None),
            bias,
        }
    }

    pub fn weight(&self) -> &Tensor {
        self.product.weight()
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let ys = self.product.forward(xs)?;
        match &self.bias {
            Some(bias) => crate::bias::add_bias(&ys, bias, ys.rank() - 1),
            None => Ok(ys),
        }
    }
}

/// A [`Linear`] named by `vb` (`weight`, `bias`), initialised as candle-nn's `linear`.
pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let layer = candle_nn::linear(in_dim, out_dim, vb)?;
    Ok(Linear::new(layer.weight().clone(), layer.bias().cloned()))
}

/// A [`Linear`] without bias, initialised as candle-nn's `linear_no_bias`.
pub fn linear_no_bias(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let layer = candle_nn::linear_no_bias(in_dim, out_dim, vb)?;
    Ok(Linear::new(layer.weight().clone(), None))
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::transfer::Gate;
    use crate::weights::Weights;

    use crate::test_support::max_abs_diff as max_diff;

    #[test]
    fn the_folded_batch_norm_equals_conv_then_batch_norm() {
        let dev = Device::Cpu;
        let weights = Weights::seeded(11, &dev, &Gate::new());
        let vb = weights.var_builder();
        for (groups, c_in, stride) in [(1, 3, 2), (6, 6, 1), (6, 6, 2)] {
            let cfg = Conv2dConfig {
                stride,
                padding: 1,
                groups,
                ..Default::default()
            };
            let (conv, bn) = (format!("c{groups}{stride}"), format!("bn{groups}{stride}"));
            let c_out = if groups == 1 { 5 } else { c_in };
            let folded = ConvBn::new(c_in, c_out, 3, cfg, vb.pp(&conv), vb.pp(&bn)).unwrap();
            // The same tensors (the backend hands out one tensor per name), unfolded.
            let weight = vb.pp(&conv).get((c_out, c_in / groups, 3, 3), "weight").unwrap();
            let norm = candle_nn::batch_norm(c_out, BN_EPS, vb.pp(&bn)).unwrap();
            // Seeded running means are small random values: the fold has something to fold.
            let xs = Tensor::randn(0f32, 1.0, (1, c_in, 9, 9), &dev).unwrap();
            let reference = Conv2d::new(weight, None, cfg)
                .forward(&xs)
                .unwrap()
                .apply_t(&norm, false)
                .unwrap();
            let ours = folded.forward(&xs).unwrap();
            assert_eq!(ours.dims(), reference.dims());
            let diff = max_diff(&ours, &reference);
            assert!(diff < 1e-5, "groups {groups}, stride {stride}: {diff}");
        }
    }

    #[test]
    fn depthwise_equals_candles_grouped_convolution() {
        let dev = Device::Cpu;
        for (k, stride, padding, (h, w)) in [
            (3, 1, 1, (8, 8)),
            (3, 2, 1, (8, 8)),
            (3, 2, 1, (7, 9)),
            (3, 1, 0, (5, 6)),
            (1, 1, 0, (4, 4)),
            (5, 2, 2, (11, 10)),
            (3, 3, 1, (10, 10)),
        ] {
            let c = 4;
            let xs = Tensor::randn(0f32, 1.0, (2, c, h, w), &dev).unwrap();
            let weight = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev).unwrap();
            let bias = Tensor::randn(0f32, 1.0, c, &dev).unwrap();
            let reference = xs
                .conv2d(&weight, padding, stride, 1, c)
                .unwrap()
                .broadcast_add(&bias.reshape((1, c, 1, 1)).unwrap())
                .unwrap();
            let dw = DepthwiseConv2d::new(weight.clone(), Some(bias.clone()), stride, padding).unwrap();
            let ours = dw.forward(&xs).unwrap();
            assert_eq!(ours.dims(), reference.dims(), "k {k}, stride {stride}, {h}x{w}");
            let diff = max_diff(&ours, &reference);
            assert!(diff < 1e-4, "k {k}, stride {stride}, {h}x{w}: {diff}");
            // In f16, to f16 precision.
            let dw16 = DepthwiseConv2d::new(
                weight.to_dtype(DType::F16).unwrap(),
                Some(bias.to_dtype(DType::F16).unwrap()),
                stride,
                padding,
            )
            .unwrap();
            let ours16 = dw16.forward(&xs.to_dtype(DType::F16).unwrap()).unwrap();
            assert_eq!(ours16.dtype(), DType::F16);
            assert!(max_diff(&ours16, &reference) < 0.05);
        }
    }

    #[test]
    fn bad_depthwise_shapes_are_errors() {
        let dev = Device::Cpu;
        let weight = Tensor::zeros((4, 2, 3, 3), DType::F32, &dev).unwrap();
        assert!(DepthwiseConv2d::new(weight, None, 1, 1).is_err());
        let weight = Tensor::zeros((4, 1, 3, 3), DType::F32, &dev).unwrap();
        assert!(DepthwiseConv2d::new(weight.clone(), None, 0, 1).is_err());
        let dw = DepthwiseConv2d::new(weight, None, 1, 0).unwrap();
        assert!(dw
            .forward(&Tensor::zeros((1, 3, 5, 5), DType::F32, &dev).unwrap())
            .is_err());
        assert!(dw
            .forward(&Tensor::zeros((1, 4, 2, 2), DType::F32, &dev).unwrap())
            .is_err());
    }
}
