//! [`PatchConvTranspose2d`]: a transposed convolution whose kernel equals its
//! stride (SAM's mask-decoder upscaling: 2 × 2, stride 2), as one matrix
//! product and one [`PatchScatter`] op (`patch.cu` on CUDA).
//!
//! With kernel = stride, no padding and one group, every input pixel makes
//! its own `k × k` patch of every output channel, with no overlap:
//! `out[b, co, i·k + di, j·k + dj] = bias[co] + Σ_ci x[b, ci, i, j] · w[ci, co, di, dj]`.
//! The sum is the product `Y = Wᵀ X` per image (cuBLAS on CUDA); the scatter
//! puts each patch in its place and adds the bias. candle 0.11.1's CUDA
//! `conv_transpose2d` computes each output value with a loop over the input
//! channels in one thread: a quarter of the real preset's frame on an H200
//! (two launches, 9.9 ms in bf16) for what the product does in well under a
//! millisecond. The same arithmetic up to the order of the sums; the tests
//! hold the layer to candle's `conv_transpose2d`.

use candle_core::{CpuStorage, CustomOp2, Layout, Module, Result, Shape, Tensor, WithDType};

use crate::op_layout::contiguous_part;
#[cfg(feature = "cuda")]
use crate::op_layout::contiguous_range;

/// Writes the patches of `Y: (B, C·k·k, H·W)` to `(B, C, H·k, W·k)` and adds
/// `bias: (C,)`; both contiguous, one dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchScatter {
    pub channels: usize,
    pub kernel: usize,
    pub height: usize,
    pub width: usize,
}

impl PatchScatter {
    fn output_shape(&self, batch: usize) -> Shape {
        Shape::from((
            batch,
            self.channels,
            self.height * self.kernel,
            self.width * self.kernel,
        ))
    }

    /// The batch of `y`, checked against the op's sizes.
    fn batch(&self, y: &Layout, bias: &Layout) -> Result<usize> {
        let (batch, rows, pixels) = y.shape().dims3()?;
        let k = self.kernel;
        if rows != self.channels * k * k || pixels != self.height * self.width || bias.shape().dims() != [self.channels]
        {
            candle_core::bail!(
                "patch-scatter of {} channels, kernel {k}, {} x {} pixels expects Y (B, {}, {}) and bias ({},), got {:?} and {:?}",
                self.channels,
                self.height,
                self.width,
                self.channels * k * k,
                self.height * self.width,
                self.channels,
                y.shape(),
                bias.shape()
            )
        }
        if self.output_shape(batch).elem_count() > u32::MAX as usize {
            candle_core::bail!("patch-scatter takes outputs below 2^32 elements")
        }
        Ok(batch)
    }

    fn scatter<T: WithDType>(&self, y: &[T], bias: &[T], batch: usize) -> Vec<T> {
        let (c, k, h, w) = (self.channels, self.kernel, self.height, self.width);
        let mut out = Vec::with_capacity(batch * c * h * k * w * k);
        for b in 0..batch {
            for (co, bias_co) in bias.iter().enumerate().take(c) {
                let bias_co = bias_co.to_f64() as f32;
                for oy in 0..h * k {
                    let (i, di) = (oy / k, oy % k);
                    for ox in 0..w * k {
                        let (j, dj) = (ox / k, ox % k);
                        let row = (co * k + di) * k + dj;
                        let v = y[(b * c * k * k + row) * h * w + i * w + j].to_f64() as f32 + bias_co;
                        out.push(T::from_f64(f64::from(v)));
                    }
                }
            }
        }
        out
    }
}

impl CustomOp2 for PatchScatter {
    fn name(&self) -> &'static str {
        "patch-scatter"
    }

    fn cpu_fwd(
        &self,
        y: &CpuStorage,
        y_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let batch = self.batch(y_layout, bias_layout)?;
        macro_rules! run {
            ($variant:ident, $y:expr, $b:expr) => {
                CpuStorage::$variant(self.scatter(
                    contiguous_part("patch-scatter", "product", $y, y_layout)?,
                    contiguous_part("patch-scatter", "bias", $b, bias_layout)?,
                    batch,
                ))
            };
        }
        let out = match (y, bias) {
            (CpuStorage::F32(y), CpuStorage::F32(b)) => run!(F32, y, b),
            (CpuStorage::F16(y), CpuStorage::F16(b)) => run!(F16, y, b),
            (CpuStorage::BF16(y), CpuStorage::BF16(b)) => run!(BF16, y, b),
            _ => candle_core::bail!("patch-scatter expects f32, f16 or bf16 tensors of one dtype"),
        };
        Ok((out, self.output_shape(batch)))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        y: &candle_core::CudaStorage,
        y_layout: &Layout,
        bias: &candle_core::CudaStorage,
        bias_layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::LaunchConfig;

        use crate::nvrtc::{launch_float_kernel, Scalar, Source};

        const SOURCE: Source = Source {
            module: "d2h_patch_scatter",
            code: include_str!("patch.cu"),
        };
        let batch = self.batch(y_layout, bias_layout)?;
        let shape = self.output_shape(batch);
        let numel = shape.elem_count();
        let inputs = [
            (y, contiguous_range("patch-scatter", "product", y_layout)?),
            (bias, contiguous_range("patch-scatter", "bias", bias_layout)?),
        ];
        let config = LaunchConfig {
            // A grid-stride loop over at most 65,536 blocks.
            grid_dim: (numel.div_ceil(256).max(1).min(1 << 16) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let scalars = [numel, self.channels, self.kernel, self.height, self.width].map(|v| Scalar::U32(v as u32));
        let out = launch_float_kernel(
            SOURCE,
            ["patch_scatter_f32", "patch_scatter_f16", "patch_scatter_bf16"],
            inputs,
            numel,
            config,
            &scalars,
        )?;
        Ok((out, shape))
    }
}

/// A `k × k` transposed convolution with stride `k`, no padding, one group.
#[derive(Clone)]
pub struct PatchConvTranspose2d {
    /// `(C_out·k·k, C_in)`: the weight transposed for the product.
    weight_t: Tensor,
    /// `(C_out,)`, zeros without a bias.
    bias: Tensor,
    c_out: usize,
    kernel: usize,
}

impl std::fmt::Debug for PatchConvTranspose2d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchConvTranspose2d")
            .field("weight_t", &self.weight_t.dims())
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

impl PatchConvTranspose2d {
    /// `weight: (C_in, C_out, k, k)` (candle's and PyTorch's layout), `bias: (C_out,)`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (c_in, c_out, k, k2) = weight.dims4()?;
        if k != k2 || k == 0 {
            candle_core::bail!(
                "a patch transposed convolution needs a square kernel, got {:?}",
                weight.dims()
            )
        }
        let weight_t = weight.reshape((c_in, c_out * k * k))?.t()?.contiguous()?;
        let bias = match bias {
            Some(b) => b.reshape(c_out)?.contiguous()?,
            None => Tensor::zeros(c_out, weight.dtype(), weight.device())?,
        };
        Ok(PatchConvTranspose2d {
            weight_t,
            bias,
            c_out,
            kernel: k,
        })
    }

    /// From candle-nn's layer, which must have kernel = stride, no padding,
    /// no output padding, dilation 1 and one group.
    pub fn from_candle(layer: &candle_nn::ConvTranspose2d) -> Result<Self> {
        let c = layer.config();
        let k = layer.weight().dim(2)?;
        if c.stride != k || c.padding != 0 || c.output_padding != 0 || c.dilation != 1 {
            candle_core::bail!(
                "a patch transposed convolution needs kernel = stride and no padding, got kernel {k}, stride {}, padding {}, output padding {}, dilation {}",
                c.stride,
                c.padding,
                c.output_padding,
                c.dilation
            )
        }
        Self::new(layer.weight(), layer.bias())
    }
}

impl Module for PatchConvTranspose2d {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, c_in, h, w) = xs.dims4()?;
        let x = xs.contiguous()?.reshape((b, c_in, h * w))?;
        let y = self.weight_t.broadcast_left(b)?.matmul(&x)?;
        let op = PatchScatter {
            channels: self.c_out,
            kernel: self.kernel,
            height: h,
            width: w,
        };
        y.apply_op2_no_bwd(&self.bias, &op)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Tensor};
    use candle_nn::{ConvTranspose2d, ConvTranspose2dConfig};

    use super::*;
    use crate::test_support::{max_abs_diff, random};

    #[test]
    fn the_layer_is_candles_transposed_convolution() {
        for (b, c_in, c_out, k, h, w) in [(3, 8, 4, 2, 5, 7), (1, 6, 3, 3, 4, 4), (2, 4, 2, 1, 3, 2)] {
            let x = random(&[b, c_in, h, w], 5);
            let weight = random(&[c_in, c_out, k, k], 9);
            let bias = random(&[c_out], 13);
            let cfg = ConvTranspose2dConfig {
                stride: k,
                ..Default::default()
            };
            let reference = ConvTranspose2d::new(weight.clone(), Some(bias.clone()), cfg);
            let expected = reference.forward(&x).unwrap();
            let layer = PatchConvTranspose2d::from_candle(&reference).unwrap();
            let got = layer.forward(&x).unwrap();
            assert_eq!(got.dims(), expected.dims());
            let what = format!("B {b}, {c_in} -> {c_out}, k {k}, {h} x {w}");
            assert!(
                max_abs_diff(&got, &expected) < 1e-5,
                "{what}: {}",
                max_abs_diff(&got, &expected)
            );
            // f16 and bf16 give the f32 result within their precision.
            for dtype in [DType::F16, DType::BF16] {
                let cast = |t: &Tensor| t.to_dtype(dtype).unwrap();
                let half = PatchConvTranspose2d::new(&cast(&weight), Some(&cast(&bias))).unwrap();
                let got = half.forward(&cast(&x)).unwrap();
                assert_eq!(got.dtype(), dtype);
                assert!(max_abs_diff(&got, &expected) < 0.1, "{what}, {dtype:?}");
            }
        }
        // Overlapping patches (stride below the kernel) are not this layer's.
        let cfg = ConvTranspose2dConfig {
            stride: 1,
            ..Default::default()
        };
        let overlapping = ConvTranspose2d::new(random(&[2, 2, 2, 2], 1), None, cfg);
        assert!(PatchConvTranspose2d::from_candle(&overlapping).is_err());
    }
}
