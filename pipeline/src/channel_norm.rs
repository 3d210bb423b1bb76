//! [`ChannelNorm`]: SAM's `LayerNorm2d`, a layer norm over the channels of
//! an NCHW tensor, as one custom op (`channel_norm.cu` on CUDA).
//!
//! Written op by op (`LayerNorm2d::forward_unfused`) it is two reductions
//! and four broadcast operations over the whole tensor, whose CUDA kernels
//! take candle's strided path (64-bit divisions per dimension per element):
//! about 3 ms of the real preset's frame on an H200, for the mask decoder's
//! upscaled `(K, 64, 128, 128)` embeddings. The op keeps the op-by-op form's
//! arithmetic: statistics in f32, the normalised value rounded to the
//! tensor's dtype, then the scale and the shift each rounded; only the
//! order of the sums over the channels differs.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, WithDType};

use crate::op_layout::contiguous_part;
#[cfg(feature = "cuda")]
use crate::op_layout::contiguous_range;

/// `x: (B, C, H, W)`, `weight` and `bias: (C,)`, one dtype, contiguous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelNorm {
    pub eps: f32,
}

impl ChannelNorm {
    /// `(batch, channels, pixels per plane)`, checked.
    fn dims(&self, x: &Layout, weight: &Layout, bias: &Layout) -> Result<(usize, usize, usize)> {
        let (batch, channels, h, w) = x.shape().dims4()?;
        if weight.shape().dims() != [channels] || bias.shape().dims() != [channels] {
            candle_core::bail!(
                "channel-norm of {:?} expects a weight and a bias of {channels}, got {:?} and {:?}",
                x.shape(),
                weight.shape(),
                bias.shape()
            )
        }
        if x.shape().elem_count() > u32::MAX as usize || channels == 0 {
            candle_core::bail!(
                "channel-norm takes 1 or more channels and fewer than 2^32 elements, got {:?}",
                x.shape()
            )
        }
        Ok((batch, channels, h * w))
    }

    fn normalise<T: WithDType>(
        &self,
        x: &[T],
        weight: &[T],
        bias: &[T],
        batch: usize,
        channels: usize,
        plane: usize,
    ) -> Vec<T> {
        let f = |v: T| v.to_f64() as f32;
        let round = |v: f32| f(T::from_f64(f64::from(v)));
        let mut out = vec![T::zero(); x.len()];
        for b in 0..batch {
            for at in 0..plane {
                let index = |c: usize| (b * channels + c) * plane + at;
                let mean = (0..channels).map(|c| f(x[index(c)])).sum::<f32>() / channels as f32;
                let squares: f32 = (0..channels)
                    .map(|c| {
                        let d = f(x[index(c)]) - mean;
                        d * d
                    })
                    .sum();
                let denom = (squares / channels as f32 + self.eps).sqrt();
                for c in 0..channels {
                    let y = round((f(x[index(c)]) - mean) / denom);
                    let scaled = round(y * f(weight[c]));
                    out[index(c)] = T::from_f64(f64::from(scaled + f(bias[c])));
                }
            }
        }
        out
    }
}

impl CustomOp3 for ChannelNorm {
    fn name(&self) -> &'static str {
        "channel-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (batch, channels, plane) = self.dims(x_layout, weight_layout, bias_layout)?;
        macro_rules! run {
            ($variant:ident, $x:expr, $w:expr, $b:expr) => {
                CpuStorage::$variant(self.normalise(
                    contiguous_part("channel-norm", "input", $x, x_layout)?,
                    contiguous_part("channel-norm", "weight", $w, weight_layout)?,
                    contiguous_part("channel-norm", "bias", $b, bias_layout)?,
                    batch,
                    channels,
                    plane,
                ))
            };
        }
        let out = match (x, weight, bias) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => run!(F32, x, w, b),
            (CpuStorage::F16(x), CpuStorage::F16(w), CpuStorage::F16(b)) => run!(F16, x, w, b),
            (CpuStorage::BF16(x), CpuStorage::BF16(w), CpuStorage::BF16(b)) => run!(BF16, x, w, b),
            _ => candle_core::bail!("channel-norm expects f32, f16 or bf16 tensors of one dtype"),
        };
        Ok((out, x_layout.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        x: &candle_core::CudaStorage,
        x_layout: &Layout,
        weight: &candle_core::CudaStorage,
        weight_layout: &Layout,
        bias: &candle_core::CudaStorage,
        bias_layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::LaunchConfig;

        use crate::nvrtc::{launch_float_kernel, Scalar, Source};

        const SOURCE: Source = Source {
            module: "d2h_channel_norm",
            code: include_str!("channel_norm.cu"),
        };
        let (batch, channels, plane) = self.dims(x_layout, weight_layout, bias_layout)?;
        let inputs = [
            (x, contiguous_range("channel-norm", "input", x_layout)?),
            (weight, contiguous_range("channel-norm", "weight", weight_layout)?),
            (bias, contiguous_range("channel-norm", "bias", bias_layout)?),
        ];
        let pixels = batch * plane;
        let config = LaunchConfig {
            // A grid-stride loop over at most 65,536 blocks.
            grid_dim: (pixels.div_ceil(256).max(1).min(1 << 16) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let scalars = [
            Scalar::U32(pixels as u32),
            Scalar::U32(channels as u32),
            Scalar::U32(plane as u32),
            Scalar::F32(self.eps),
        ];
        let numel = x_layout.shape().elem_count();
        let out = launch_float_kernel(
            SOURCE,
            ["channel_norm_f32", "channel_norm_f16", "channel_norm_bf16"],
            inputs,
            numel,
            config,
            &scalars,
        )?;
        Ok((out, x_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Module, Tensor};

    use crate::predictor::sam::LayerNorm2d;
    use crate::test_support::max_abs_diff;

    #[test]
    fn the_op_is_layer_norm_2d_op_by_op() {
        let dev = Device::Cpu;
        let channels = 6;
        let scale: Vec<f32> = (0..channels).map(|c| 0.5 + c as f32 * 0.25).collect();
        let shift: Vec<f32> = (0..channels).map(|c| c as f32 * 0.1 - 0.2).collect();
        let norm = LayerNorm2d::from_parts(
            Tensor::from_vec(scale, channels, &dev).unwrap(),
            Tensor::from_vec(shift, channels, &dev).unwrap(),
            1e-6,
        );
        let values: Vec<f32> = (0..2 * channels * 5 * 7)
            .map(|i| ((i * 37) % 101) as f32 * 0.7 - 30.0)
            .collect();
        let x = Tensor::from_vec(values, (2, channels, 5, 7), &dev).unwrap();
        for (dtype, tolerance) in [(DType::F32, 1e-5), (DType::F16, 1e-2), (DType::BF16, 5e-2)] {
            let norm = norm.to_dtype(dtype).unwrap();
            let x = x.to_dtype(dtype).unwrap();
            let fused = norm.forward(&x).unwrap();
            let unfused = norm.forward_unfused(&x).unwrap();
            assert_eq!(fused.dtype(), dtype);
            let diff = max_abs_diff(&fused, &unfused);
            assert!(diff <= tolerance, "{dtype:?}: {diff}");
        }
    }
}
